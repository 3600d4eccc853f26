def first_above(x, t):
    for i in range(len(x)):
        if x[i] > t:
            return i
    return -1
