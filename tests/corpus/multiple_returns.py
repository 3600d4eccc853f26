# Several `return`s: in branches, and from a doubly nested loop.


def early_exit(x):
    if x < 0.0:
        return -x
    y = x * x
    if y > 4.0:
        return y - 4.0
    return y


def first_pair_above(x, t):
    n = x.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            if x[i] + x[j] > t:
                return x[i] * x[j]
    return -1.0


def return_from_while(x):
    k = 0
    while k < 100:
        x = x * 1.3 - 0.2
        if x > 50.0:
            return x + k
        k += 1
    return -x
