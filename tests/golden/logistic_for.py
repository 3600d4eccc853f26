def logistic(x, n):
    l = x
    for i in range(n):
        l = 4.0 * l * (1.0 - l)
    return l
