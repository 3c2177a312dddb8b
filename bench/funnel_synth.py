"""Portable counter-based RNG and synthetic generators (synthetic-data.md §1, §7).

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
