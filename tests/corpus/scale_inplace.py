# Writing into argument arrays in place (the caller sees the change).


def scale_inplace(x, s):
    for i in range(len(x)):
        x[i] = x[i] * s
    return x


def scale_rows_inplace(A, d):
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            A[i, j] *= d[i]
    return A


def scale_then_sum(x, s):
    scale_inplace(x, s)
    t = 0.0
    for i in range(len(x)):
        t += x[i]
    return t
