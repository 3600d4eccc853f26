"""Loop functions that the first- and second-order autodiff tests share:
the loop cases that break AD systems (data-dependent trip counts, `if`
inside `while`, `break`/`continue`, nested loops, a value used before,
inside and after a loop)."""
from __future__ import annotations

import math


def logistic_for(x, n):
    l = x
    for i in range(n - 1):
        l = 4.0 * l * (1.0 - l)
    return l


def logistic_while(x, n):
    l = x
    k = 1
    while k < n:
        l = 4.0 * l * (1.0 - l)
        k += 1
    return l


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


def if_in_while(x):
    s = 0.0
    k = 0
    while k < 7:
        if k % 2 == 0:
            s = s + math.sin(x * k)
        else:
            s = s * x
        k += 1
    return s


def break_continue(x, n):
    s = 0.0
    for i in range(n):
        if i == 2:
            continue
        s = s + x ** i
        if s > 50.0:
            break
    return s


def nested(x, n):
    acc = 1.0
    for i in range(n):
        t = 0.0
        for j in range(i + 1):
            t = t + x * j
        acc = acc * (1.0 + 0.1 * t)
    return acc


def before_inside_after(x, n):
    c = math.exp(x)
    s = 0.0
    for i in range(n):
        s = s + c * i
    return s * c
