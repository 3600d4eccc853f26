# Polynomial evaluation by Horner's rule: coefficients in an array (c[0] the
# constant term, walked with a negative step), and a fixed polynomial.


def horner(c, x):
    acc = 0.0
    for i in range(c.shape[0] - 1, -1, -1):
        acc = acc * x + c[i]
    return acc


def horner_fixed(x):
    # 2 x^3 - 3 x^2 + 0.5 x - 7
    return ((2.0 * x - 3.0) * x + 0.5) * x - 7.0


def horner_derivative(c, x):
    # p and p' together, the classic two-accumulator form.
    p = 0.0
    dp = 0.0
    for i in range(c.shape[0] - 1, -1, -1):
        dp = dp * x + p
        p = p * x + c[i]
    return p, dp
