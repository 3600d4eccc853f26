# Nested loops with `continue` and `break` in the inner and the outer loop,
# and a `while` loop with both.


def nested_break_continue(x, n, m):
    s = 0.0
    for i in range(n):
        if i == 3:
            continue
        for j in range(m):
            if j % 2 == 1:
                continue
            if j > i:
                break
            s += x * (i + 1) / (j + 1)
        if s * s > 400.0 * x * x:
            break
    return s


def while_break_continue(x, n):
    s = 0.0
    k = 0
    while k < n:
        k += 1
        if k % 3 == 0:
            continue
        s = s + math_free_step(s, x)
        if s > 50.0:
            break
    return s


def math_free_step(s, x):
    return 0.5 * s + x
