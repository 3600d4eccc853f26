# A two-layer perceptron with tanh, and its squared loss.
import math
import numpy as np


def mlp(W1, b1, w2, b2, x):
    h = np.zeros(W1.shape[0])
    for i in range(W1.shape[0]):
        a = b1[i]
        for j in range(W1.shape[1]):
            a += W1[i, j] * x[j]
        h[i] = math.tanh(a)
    out = b2
    for i in range(h.shape[0]):
        out += w2[i] * h[i]
    return out


def mlp_loss(W1, b1, w2, b2, x, target):
    e = mlp(W1, b1, w2, b2, x) - target
    return 0.5 * e * e
