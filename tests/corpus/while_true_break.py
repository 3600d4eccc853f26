# `while True:` left only by `break`.


def grow_until(x):
    y = x
    while True:
        y = y * 1.5 + 0.1
        if y > 100.0:
            break
    return y


def grow_steps(x):
    y = x
    n = 0
    while True:
        n += 1
        y = y * 1.5 + 0.1
        if y > 100.0:
            break
    return n
