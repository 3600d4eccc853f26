def logistic(x, n):
    l = x
    k = 1
    while k < n:
        l = 4.0 * l * (1.0 - l)
        k += 1
    return l
