# Nested loops whose inner trip count depends on the outer index (zero at
# the first outer iteration), and a `for` inside a `while`.


def triangle_sum(x, n):
    s = 0.0
    for i in range(n):
        for j in range(i):
            s += x ** j / (i + 1)
    return s


def while_of_for(x, m):
    s = x
    rounds = 0
    while s < 10.0 and rounds < 20:
        for j in range(m):
            s = s + 0.1 * s * (j + 1)
        rounds += 1
    return s


def pair_interactions(x):
    n = x.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = x[i] - x[j]
            e += 1.0 / (1.0 + d * d)
    return e
