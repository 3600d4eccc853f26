def piecewise(x):
    if x < -1.0:
        y = -x
    elif x < 1.0:
        y = x * x
    else:
        y = 2.0 * x - 1.0
    return y
