# A carried product acc = acc * x, over a counted loop and over an array.


def power_loop(x, n):
    acc = 1.0
    for i in range(n):
        acc = acc * x
    return acc


def product_array(x):
    acc = 1.0
    for i in range(x.shape[0]):
        acc = acc * x[i]
    return acc


def rising_factorial(x, n):
    acc = 1.0
    for i in range(n):
        acc *= x + i
    return acc
