# The GMM objective of ADBench (workloads.md, section 4) with explicit loops.
# icf[k] holds q_k (d values) then l_k (d(d-1)/2 values); Q_k is
# diag(exp(q_k)) plus the strictly lower triangle filled column by column
# from l_k.
import math
import numpy as np


def logsumexp(v):
    mx = v[0]
    for k in range(1, v.shape[0]):
        if v[k] > mx:
            mx = v[k]
    s = 0.0
    for k in range(v.shape[0]):
        s += math.exp(v[k] - mx)
    return mx + math.log(s)


def gmm_data_term(alphas, means, icf, x):
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    lse = np.zeros(K)
    xc = np.zeros(d)
    qxc = np.zeros(d)
    total = 0.0
    for i in range(n):
        for k in range(K):
            sumq = 0.0
            for j in range(d):
                xc[j] = x[i, j] - means[k, j]
                sumq += icf[k, j]
            for r in range(d):
                qxc[r] = math.exp(icf[k, r]) * xc[r]
            idx = d
            for c in range(d):
                for r in range(c + 1, d):
                    qxc[r] += icf[k, idx] * xc[c]
                    idx += 1
            sq = 0.0
            for r in range(d):
                sq += qxc[r] * qxc[r]
            lse[k] = alphas[k] + sumq - 0.5 * sq
        total += logsumexp(lse)
    return total - n * logsumexp(alphas)


def gmm_prior(icf, d, gamma, m):
    K = icf.shape[0]
    out = 0.0
    for k in range(K):
        frob = 0.0
        sumq = 0.0
        for j in range(d):
            frob += math.exp(2.0 * icf[k, j])
            sumq += icf[k, j]
        for j in range(d, icf.shape[1]):
            frob += icf[k, j] * icf[k, j]
        out += 0.5 * gamma * gamma * frob - m * sumq
    return out


def gmm_constants(n, d, K, gamma, m):
    # -n d/2 log(2 pi) - K C(d, gamma, m), C the log Wishart normalization.
    nn = d + m + 1
    a = 0.5 * nn
    lgd = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        lgd += math.lgamma(a + 0.5 * (1 - j))
    c = nn * d * (math.log(gamma) - 0.5 * math.log(2.0)) - lgd
    return -0.5 * n * d * math.log(2.0 * math.pi) - K * c


def gmm_objective(alphas, means, icf, x, gamma, m):
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    data = gmm_data_term(alphas, means, icf, x)
    return data + gmm_prior(icf, d, gamma, m) + gmm_constants(n, d, K, gamma, m)
