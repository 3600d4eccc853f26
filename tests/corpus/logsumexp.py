# logsumexp with the max shift, softmax into a new array, softplus.
import math
import numpy as np


def logsumexp(x):
    m = x[0]
    for i in range(1, x.shape[0]):
        if x[i] > m:
            m = x[i]
    s = 0.0
    for i in range(x.shape[0]):
        s += math.exp(x[i] - m)
    return m + math.log(s)


def softmax(x):
    lse = logsumexp(x)
    y = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = math.exp(x[i] - lse)
    return y


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
