import numpy as np


def outer(x, y):
    A = np.zeros((len(x), len(y)))
    for i in range(len(x)):
        for j in range(len(y)):
            A[i, j] = x[i] * y[j]
    return A
