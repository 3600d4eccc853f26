# Newton's iteration for sqrt(a), stopped by a tolerance: the trip count
# depends on the data. MAX_STEPS only stops a run on a <= 0 (where the
# tolerance test never passes).

TOL = 1e-12
MAX_STEPS = 200


def newton_sqrt(a):
    y = a if a > 1.0 else 1.0
    steps = 0
    while abs(y * y - a) > TOL * a and steps < MAX_STEPS:
        y = 0.5 * (y + a / y)
        steps += 1
    return y


def newton_sqrt_steps(a):
    y = a if a > 1.0 else 1.0
    steps = 0
    while abs(y * y - a) > TOL * a and steps < MAX_STEPS:
        y = 0.5 * (y + a / y)
        steps += 1
    return steps
