# Dot products and norms over 1-D arrays; a normalized copy.
import math
import numpy as np


def dot(x, y):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * y[i]
    return s


def norm(x):
    return math.sqrt(dot(x, x))


def normalize(x):
    r = norm(x)
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] / r
    return y


def cosine(x, y):
    return dot(x, y) / (norm(x) * norm(y))
