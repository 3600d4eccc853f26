def scale(x, s):
    for i in range(len(x)):
        x[i] *= s
    return 0.0


def caller(x):
    t = scale(x, 2.0)
    return x[0] + t
