def total(x, n):
    s = 0
    for i in range(n):
        s += x
    return s
