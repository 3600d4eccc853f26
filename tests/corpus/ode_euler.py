# Explicit Euler integration of ODEs.
import math


def euler_decay(y0, k, t_end, n):
    h = t_end / n
    y = y0
    t = 0.0
    for i in range(n):
        y = y + h * (-k * y + math.sin(t))
        t += h
    return y


def pendulum(theta0, omega0, n):
    h = 0.01
    theta = theta0
    omega = omega0
    for i in range(n):
        theta, omega = theta + h * omega, omega - h * 9.81 * math.sin(theta)
    return theta, omega
