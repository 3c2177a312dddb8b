"""Portable counter-based RNG and synthetic generators (synthetic-data.md §1-§8).

Vectorised NumPy implementation of the same random numbers the Swift library
produces: every quantity is addressed by (seed, stream, index), with all integer
arithmetic on uint64 modulo 2^64.
"""
import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
PHI = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def _u64(x):
    return np.asarray(x, dtype=np.uint64)


def mix64(z):
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = _u64(z)
    with np.errstate(over="ignore"):
        z = z ^ (z >> _S30)
        z = z * _M1
        z = z ^ (z >> _S27)
        z = z * _M2
        return z ^ (z >> _S31)


def key(seed, stream):
    with np.errstate(over="ignore"):
        return mix64(_u64(seed) * PHI + _u64(stream))


def uniform(seed, stream, i):
    """uniform(seed, stream, i) in [0, 1) as float64; `i` may be an array."""
    k = key(seed, stream)
    with np.errstate(over="ignore"):
        z = mix64(k + (_u64(i) + np.uint64(1)) * PHI)
    return (z >> _S11).astype(np.float64) * (2.0 ** -53)


def normal(seed, stream, i):
    """Box-Muller normal: sqrt(-2 ln(1 - u1)) cos(2 pi u2), u1/u2 at indices 2i, 2i+1."""
    i = _u64(i)
    two = np.uint64(2)
    u1 = uniform(seed, stream, two * i)
    u2 = uniform(seed, stream, two * i + np.uint64(1))
    return np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)


def sigmoid(z):
    """Stable logistic: 1/(1+e^-z) for z >= 0, e^z/(1+e^z) otherwise."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


class ParityGenerator:
    """Census-like parity benchmark generator (synthetic-data.md §7).

    Streams 0-11. Training rows 0..131071, evaluation rows 131072..196607.
    """

    TRAIN_ROWS = 131_072
    EVAL_ROWS = 65_536

    def __init__(self, seed=0, n_fields=40, n_dense=10, rho=0.5, bias=(-0.3, -1.0)):
        self.seed, self.F, self.D, self.rho = seed, n_fields, n_dense, rho
        self.bias = bias
        f = np.arange(n_fields)
        v = np.floor(10.0 * 100.0 ** uniform(seed, 0, f))
        self.vocab = np.minimum(v, 999).astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.vocab)[:-1]]).astype(np.int64)
        total = int(self.vocab.sum())
        g = np.arange(total)
        self.s = normal(seed, 3, g)
        self.e = [normal(seed, 4 + t, g) for t in range(2)]
        self.w = [normal(seed, 6 + t, np.arange(n_dense)) for t in range(2)]

    @property
    def total_vocab(self):
        return int(self.vocab.sum())

    def rows(self, start, count):
        """Rows start..start+count-1 -> (x_cat [n,F] int64 local ids, x_dense [n,D] f64,
        y [n,2] int64, logits [n,2] f64)."""
        F, D, seed = self.F, self.D, self.seed
        r = np.arange(start, start + count, dtype=np.uint64)
        idx = r[:, None] * np.uint64(F) + np.arange(F, dtype=np.uint64)[None, :]
        u = uniform(seed, 1, idx)
        V = self.vocab[None, :]
        x_cat = np.minimum(np.floor(V * u * u).astype(np.int64), V - 1)  # (V*u)*u, left to right
        didx = r[:, None] * np.uint64(D) + np.arange(D, dtype=np.uint64)[None, :]
        x_dense = normal(seed, 2, didx)
        g = x_cat + self.offsets[None, :]
        S = self.s[g].sum(axis=1) / np.sqrt(F)
        rho = self.rho
        pair = (x_cat[:, 0] * 1000 + x_cat[:, 1]).astype(np.uint64)
        logits = np.empty((count, 2))
        y = np.empty((count, 2), dtype=np.int64)
        for t in range(2):
            E = self.e[t][g].sum(axis=1) / np.sqrt(F)
            z = (self.bias[t] + 1.5 * (rho * S + np.sqrt(1.0 - rho * rho) * E)
                 + 0.5 * (x_dense @ self.w[t]) / np.sqrt(D)
                 + 0.7 * normal(seed, 8 + t, pair))
            if t == 0:
                z = z + 0.8 * np.tanh(x_dense[:, 0] * x_dense[:, 1])
            else:
                z = z + 0.4 * (x_dense[:, 2] ** 2 - 1.0)
            logits[:, t] = z
            y[:, t] = (uniform(seed, 10 + t, r) < sigmoid(z)).astype(np.int64)
        return x_cat, x_dense, y, logits


# ---------------------------------------------------------------------------------------------
# §2-§4: MMoE correlation-controlled generator, K-task extension, binary thresholding.

def semidefinite_cholesky(P, tol=1e-10):
    """Lower-triangular L with L L^T = P for a PSD matrix P; a zero pivot (|remainder| <= tol) gives a zero
    column. Equals numpy's Cholesky for positive-definite P. Raises ValueError if P is not PSD."""
    P = np.asarray(P, dtype=np.float64)
    K = P.shape[0]
    L = np.zeros((K, K))
    for j in range(K):
        pivot = P[j, j] - sum(L[j, q] * L[j, q] for q in range(j))
        if pivot < -tol:
            raise ValueError(f"not positive semi-definite (pivot {pivot} at {j})")
        if pivot <= tol:
            for i in range(j + 1, K):
                rem = P[i, j] - sum(L[i, q] * L[j, q] for q in range(j))
                if abs(rem) > 1e-8:
                    raise ValueError(f"not positive semi-definite (zero pivot at {j}, remainder {rem})")
            continue
        L[j, j] = np.sqrt(pivot)
        for i in range(j + 1, K):
            L[i, j] = (P[i, j] - sum(L[i, q] * L[j, q] for q in range(j))) / L[j, j]
    return L


def correlated_tasks(n, P, seed=0, d=100, m=10, c=1.0, sigma=0.1):
    """MMoE generator (§2) / K-task extension (§3). Returns dict with x [n,d], y [n,K] (continuous labels),
    L, w [K,d], alpha, beta, corr [K,K] (Pearson of the labels)."""
    P = np.asarray(P, dtype=np.float64)
    K = P.shape[0]
    u = []
    for k in range(K):
        v = normal(seed, 200, np.arange(k * d, (k + 1) * d))
        for q in u:  # modified Gram-Schmidt
            v = v - np.dot(v, q) * q
        u.append(v / np.sqrt(np.dot(v, v)))
    L = semidefinite_cholesky(P)
    w = np.array([c * sum(L[k, j] * u[j] for j in range(k + 1)) for k in range(K)])
    alpha = normal(seed, 201, np.arange(m))
    beta = normal(seed, 201, np.arange(m, 2 * m))
    x = normal(seed, 202, np.arange(n * d, dtype=np.uint64)).reshape(n, d)
    y = np.empty((n, K))
    for k in range(K):
        f = x @ w[k]
        y[:, k] = f + np.sin(alpha[None, :] * f[:, None] + beta[None, :]).sum(axis=1) \
            + sigma * normal(seed, 203 + k, np.arange(n))
    return {"x": x, "y": y, "L": L, "w": w, "alpha": alpha, "beta": beta, "corr": np.corrcoef(y.T)}


def sequential_mean(a):
    """Float64 sum in index order divided by the count (the spec's bisection mean)."""
    return float(np.cumsum(a)[-1]) / len(a)


def bisect(U, target):
    """b with mean sigmoid(b + U) = target (§5.2)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if sequential_mean(sigmoid(mid + U)) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def threshold_rank(y, rate):
    """§4 .rank: the floor(rate*n + 0.5) largest values are positive; ties by smaller row index first."""
    n = len(y)
    order = np.lexsort((np.arange(n), -y))
    out = np.zeros(n, dtype=np.int64)
    out[order[:int(np.floor(rate * n + 0.5))]] = 1
    return out


def threshold_bernoulli(y, rate, seed, k, kappa=2.0):
    """§4 .bernoulli: uniform(seed, 220 + k, r) < sigmoid(kappa (y - mean)/std + b_k)."""
    z = kappa * (y - y.mean()) / y.std()
    b = bisect(z, rate)
    return (uniform(seed, 220 + k, np.arange(len(y))) < sigmoid(z + b)).astype(np.int64)


def nest(labels):
    """§4 nested option: y_k <- y_k * y_{k-1} in task order. labels [n, K]."""
    out = labels.copy()
    for k in range(1, out.shape[1]):
        out[:, k] *= out[:, k - 1]
    return out


# ---------------------------------------------------------------------------------------------
# §5: funnel generator (click -> conversion -> amount).

FUNNEL_DEFAULT = dict(n=200_000, F=16, D=8, F_inf=8, kappa=2.0, r_click=0.05, r_cvr=0.10,
                      lam=(1.0, 1.0, 0.5), rho=(0.7, 0.7, 0.5), delta=(0.5, 0.5, 0.3), beta_int=0.5,
                      cross=0.0, amount_scale=50.0, sigma_a=0.8)
FUNNEL_SMOKE = dict(FUNNEL_DEFAULT, n=4096, r_click=0.30, r_cvr=0.30)


def funnel(seed=0, **overrides):
    """The funnel generator of §5. Returns a dict of the §5.3 outputs plus U [n,3] and metadata."""
    cfg = dict(FUNNEL_DEFAULT, **overrides)
    n, F, D, Fi = cfg["n"], cfg["F"], cfg["D"], cfg["F_inf"]
    V = np.minimum(np.floor(10.0 * 100.0 ** uniform(seed, 100, np.arange(F))), 999).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(V)[:-1]]).astype(np.int64)
    r = np.arange(n, dtype=np.uint64)
    u = uniform(seed, 101, r[:, None] * np.uint64(F) + np.arange(F, dtype=np.uint64)[None, :])
    uk = u * u if cfg["kappa"] == 2 else u ** cfg["kappa"]
    x_cat = np.minimum(np.floor(V[None, :] * uk).astype(np.int64), V[None, :] - 1)
    x_dense = normal(seed, 102, r[:, None] * np.uint64(D) + np.arange(D, dtype=np.uint64)[None, :])
    g = np.arange(int(V.sum()))
    s = normal(seed, 103, g)
    gi = (x_cat + offsets[None, :])[:, :Fi]
    S = s[gi].sum(axis=1) / np.sqrt(Fi)
    N = [cfg["beta_int"] * np.tanh(x_dense[:, 0] * x_dense[:, 1]),
         cfg["beta_int"] * (x_dense[:, 2] ** 2 - 1.0) / np.sqrt(2.0), np.zeros(n)]
    pair = (x_cat[:, 0] * 1000 + x_cat[:, 1]).astype(np.uint64)
    U = np.empty((n, 3))
    for k in range(3):
        E = normal(seed, 104 + k, g)[gi].sum(axis=1) / np.sqrt(Fi)
        Dn = (x_dense @ normal(seed, 107 + k, np.arange(D))) / np.sqrt(D)
        lam, rho = cfg["lam"][k], cfg["rho"][k]
        U[:, k] = lam * (rho * S + np.sqrt(1 - rho * rho) * E) + cfg["delta"][k] * Dn + N[k]
        if k < 2 and cfg["cross"] != 0:
            U[:, k] += cfg["cross"] * normal(seed, 112 + k, pair)
    b_c = bisect(U[:, 0], cfg["r_click"])
    p_click = sigmoid(b_c + U[:, 0])
    click = (uniform(seed, 110, np.uint64(3) * r) < p_click).astype(np.int64)
    b_v = bisect(U[click == 1, 1], cfg["r_cvr"])
    p_cvr = sigmoid(b_v + U[:, 1])
    conv = click * (uniform(seed, 110, np.uint64(3) * r + np.uint64(1)) < p_cvr).astype(np.int64)
    mu = np.log(cfg["amount_scale"]) + U[:, 2]
    amount = conv * np.exp(mu + cfg["sigma_a"] * normal(seed, 111, r))
    return {"V": V, "offsets": offsets, "x_cat": x_cat, "x_dense": x_dense, "U": U, "b_c": b_c, "b_v": b_v,
            "p_click": p_click, "p_cvr": p_cvr, "click": click, "conv": conv, "amount": amount, "mu_amount": mu}


# ---------------------------------------------------------------------------------------------
# §6: DEPHN-style related / unrelated labels; §8: seeded permutation.

def dephn_labels(c, seed=0, sigma=0.1, sign="whole", rule="threshold"):
    """(y_rel, y_unrel, label_rel, label_unrel) from base confidences c. sign: "whole" (sgn multiplies the whole
    expression, default) or "log" (the logarithm only); rule: "threshold" (1[y > 0]) or "bernoulli"
    (uniform(seed, 121 / 122, r) < sigmoid(y), Funnel's stream choice)."""
    a, sg = np.abs(c), np.sign(c)
    noise = sigma * normal(seed, 120, np.arange(len(c)))
    if sign == "whole":
        y_rel = sg * (2 * np.log1p(a) + 0.1 * np.exp(a)) + noise
    else:
        y_rel = sg * 2 * np.log1p(a) + 0.1 * np.exp(a) + noise
    y_unrel = sg * (2 * np.sin(a) + 0.1 * np.cos(a))
    if rule == "threshold":
        return y_rel, y_unrel, (y_rel > 0).astype(np.int64), (y_unrel > 0).astype(np.int64)
    r = np.arange(len(c))
    return (y_rel, y_unrel, (uniform(seed, 121, r) < sigmoid(y_rel)).astype(np.int64),
            (uniform(seed, 122, r) < sigmoid(y_unrel)).astype(np.int64))


def permutation(n, seed=0):
    """Fisher-Yates with j = floor(uniform(seed, 99, i) * (i + 1)) for i = n-1 down to 1."""
    order = np.arange(n)
    u = uniform(seed, 99, np.arange(n))
    for i in range(n - 1, 0, -1):
        j = int(np.floor(u[i] * (i + 1)))
        order[i], order[j] = order[j], order[i]
    return order
