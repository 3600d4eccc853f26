def polar(x, y):
    return x * x + y * y, x - y


def use(x, y):
    r, d = polar(x, y)
    return r * d
