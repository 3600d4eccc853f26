def inside(a, x, b):
    return a <= x < b
