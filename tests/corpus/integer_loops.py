# Integer-only programs: Euclid's gcd, digit sums, Collatz steps.


def gcd(a, b):
    while b != 0:
        a, b = b, a % b
    return a


def digit_sum(n):
    s = 0
    n = abs(n)
    while n > 0:
        s += n % 10
        n //= 10
    return s


def collatz_steps(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps
