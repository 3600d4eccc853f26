"""The benchmark functions, written in adjit's subset (shared/reference/workloads.md).
Helmholtz lives in adjit/examples/helmholtz.py, its one copy."""
import math

from adjit.examples.helmholtz import RT, helmholtz  # noqa: F401  (re-exported)


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def long_logistic(x, n):
    v = x
    for i in range(n):
        v = 3.9 * v * (1.0 - v)
    return v


def gmm_objective(alphas, means, icf, x, gamma, m):
    """ADBench's GMM objective with scalar loop-carried values only: each
    row of Q_k (x_i - mu_k) is summed on the fly, the log-sum-exp over the
    components is the one-pass (running maximum) form, and the Wishart prior
    and its log normalization are accumulated per component. icf[k] holds
    q_k then the strict lower triangle of L_k, column by column."""
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    data = 0.0
    for i in range(n):
        top = -math.inf
        scaled = 0.0
        for k in range(K):
            sq = 0.0
            sumq = 0.0
            for r in range(d):
                sumq += icf[k, r]
                row = math.exp(icf[k, r]) * (x[i, r] - means[k, r])
                start = d + r - 1
                for c in range(r):
                    # L_k[r, c] sits at d + c (2d - c - 1) / 2 + (r - c - 1).
                    row += icf[k, start + c * (2 * d - c - 3) // 2] * (x[i, c] - means[k, c])
                sq += row * row
            term = alphas[k] + sumq - 0.5 * sq
            if term > top:
                scaled = scaled * math.exp(top - term) + 1.0
                top = term
            else:
                scaled += math.exp(term - top)
        data += top + math.log(scaled)
    top = -math.inf
    scaled = 0.0
    for k in range(K):
        if alphas[k] > top:
            scaled = scaled * math.exp(top - alphas[k]) + 1.0
            top = alphas[k]
        else:
            scaled += math.exp(alphas[k] - top)
    prior = 0.0
    for k in range(K):
        for j in range(d):
            prior += 0.5 * gamma * gamma * math.exp(2.0 * icf[k, j]) - m * icf[k, j]
        for j in range(d, icf.shape[1]):
            prior += 0.5 * gamma * gamma * icf[k, j] * icf[k, j]
    dof = d + m + 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        log_gamma_d += math.lgamma(0.5 * dof + 0.5 * (1 - j))
    wishart_c = dof * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    return (data - n * (top + math.log(scaled)) + prior
            - 0.5 * n * d * math.log(2.0 * math.pi) - K * wishart_c)
