# A variable that starts as an int and becomes a float in the loop, as
# Python allows (`s = 0` then `s += x[i]`), and int + float promotion.


def sum_from_int_zero(x):
    s = 0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def weighted_index_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += i * x[i] + i / 2
    return s
