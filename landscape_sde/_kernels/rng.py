"""Per-replica random streams for compiled loops.

Generator: xoshiro256** (Blackman & Vigna, 2018), 256 bits of state per replica, period
2^256 − 1. Seeding: the state of replica ``k`` is four outputs of SplitMix64 started from a hash
of the root key and ``k`` ("keyed SplitMix"), so a replica's stream depends only on the root
seed and its index, never on the thread that runs it or on how many replicas run beside it.
Numba's own per-thread generator is never used.

Normals: the Marsaglia-Tsang ziggurat with 256 layers (the layout NumPy's legacy generator
uses: 8 bits pick the layer, 1 bit the sign, 52 bits the abscissa); the tail beyond
``r = 3.654...`` is sampled by Marsaglia's exponential rejection. Exact in distribution up to
the 2^-52 resolution of the abscissa.
"""
import numpy as np

from .jit import jit

_U1 = np.uint64(1)
_MASK52 = np.uint64((1 << 52) - 1)
_TWO_M52 = 2.0 ** -52
_TWO_M53 = 2.0 ** -53


# --- ziggurat tables -------------------------------------------------------------------------
def _ziggurat_tables(n=256, r=3.6541528853610088, v=0.00492867323399):
    """Layer edges ``x[0..n]`` of the 256-layer ziggurat for ``f(x) = exp(-x²/2)``.

    Layer ``i`` is a box of width ``x[i]`` (layer 0 includes the tail, as a box of equal area
    ``v``); a draw ``u·x[i]`` below ``x[i+1]`` lies under the curve for sure.
    """
    f = lambda t: np.exp(-0.5 * t * t)  # noqa: E731
    x = np.empty(n + 1)
    x[0] = v / f(r)
    x[1] = r
    for i in range(1, n - 1):
        x[i + 1] = np.sqrt(-2.0 * np.log(v / x[i] + f(x[i])))
    x[n] = 0.0
    return x, f(x)


ZIG_X, ZIG_F = _ziggurat_tables()
ZIG_R = ZIG_X[1]
ZIG_W = ZIG_X[:-1] * _TWO_M52  # abscissa scale per layer


# --- xoshiro256** ----------------------------------------------------------------------------
@jit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@jit(inline="always")
def _xoshiro(s0, s1, s2, s3):
    """One xoshiro256** step on scalar state: ``(output, s0, s1, s2, s3)``."""
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@jit(inline="always")
def uniform(s0, s1, s2, s3):
    """Uniform double in [0, 1) with 53 random bits: ``(u, s0, s1, s2, s3)``."""
    r, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
    return np.float64(np.int64(r >> np.uint64(11))) * _TWO_M53, s0, s1, s2, s3


@jit(inline="always")
def below(n, s0, s1, s2, s3):
    """Uniform integer in [0, n) for 1 <= n < 2^32, unbiased (Lemire's multiply-and-reject):
    ``(k, s0, s1, s2, s3)``."""
    nn = np.uint64(n)
    r, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
    m = (r >> np.uint64(32)) * nn
    low = m & np.uint64(0xFFFFFFFF)
    if low < nn:
        threshold = (np.uint64(0x100000000) - nn) % nn
        while low < threshold:
            r, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
            m = (r >> np.uint64(32)) * nn
            low = m & np.uint64(0xFFFFFFFF)
    return np.int64(m >> np.uint64(32)), s0, s1, s2, s3


@jit
def _ziggurat_slow(idx, x, s0, s1, s2, s3):
    """Rejection step of the ziggurat outside the inner box of layer ``idx``: returns
    ``(|z|, s0, s1, s2, s3)``. Kept out of line so that the hot loop stays small."""
    while True:
        if idx == 0:  # tail beyond r: Marsaglia's exponential rejection
            while True:
                u1, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                u2, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                xx = -np.log1p(-np.float64(np.int64(u1 >> np.uint64(11))) * _TWO_M53) / ZIG_R
                yy = -np.log1p(-np.float64(np.int64(u2 >> np.uint64(11))) * _TWO_M53)
                if yy + yy > xx * xx:
                    return ZIG_R + xx, s0, s1, s2, s3
        # wedge between the inner box and the curve
        u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        y = ZIG_F[idx] + np.float64(np.int64(u >> np.uint64(11))) * _TWO_M53 * (ZIG_F[idx + 1] - ZIG_F[idx])
        if y < np.exp(-0.5 * x * x):
            return x, s0, s1, s2, s3
        # rejected: draw a fresh layer and abscissa (the sign was already drawn)
        r, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        idx = np.int64(r & np.uint64(0xFF))
        x = np.float64(np.int64((r >> np.uint64(9)) & _MASK52)) * ZIG_W[idx]
        if x < ZIG_X[idx + 1]:
            return x, s0, s1, s2, s3


@jit(inline="always")
def normal(s0, s1, s2, s3):
    """One N(0, 1) draw by the ziggurat method: ``(z, s0, s1, s2, s3)``.

    Generator state is passed as four scalars so that it stays in registers inside loops; only
    the ~1% of draws outside a layer's inner box leave the inlined fast path.
    """
    r, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
    idx = np.int64(r & np.uint64(0xFF))
    sign = 1.0 - 2.0 * np.float64(np.int64((r >> np.uint64(8)) & _U1))
    x = np.float64(np.int64((r >> np.uint64(9)) & _MASK52)) * ZIG_W[idx]
    if not x < ZIG_X[idx + 1]:
        x, s0, s1, s2, s3 = _ziggurat_slow(idx, x, s0, s1, s2, s3)
    return sign * x, s0, s1, s2, s3  # branchless sign: a random one would mispredict


# --- seeding ---------------------------------------------------------------------------------
@jit(inline="always")
def _splitmix64(z):
    """The SplitMix64 output function (Steele, Lea & Flood, 2014): a 64-bit bijective mixer."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def seed_replica(key, index):
    """xoshiro state ``(s0, s1, s2, s3)`` of replica ``index`` under the root ``key`` (uint64[2])."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    z = _splitmix64(key[0] ^ _splitmix64(np.uint64(index) + key[1]))
    s0 = _splitmix64(z + golden)
    s1 = _splitmix64(z + golden * np.uint64(2))
    s2 = _splitmix64(z + golden * np.uint64(3))
    s3 = _splitmix64(z + golden * np.uint64(4))
    if s0 == 0 and s1 == 0 and s2 == 0 and s3 == 0:  # the one forbidden state
        s0 = golden
    return s0, s1, s2, s3


@jit
def fill_normals(key, first_replica, out):
    """``out[k, :]`` = the first ``out.shape[1]`` normals of replica ``first_replica + k``."""
    for k in range(out.shape[0]):
        s0, s1, s2, s3 = seed_replica(key, first_replica + k)
        for j in range(out.shape[1]):
            out[k, j], s0, s1, s2, s3 = normal(s0, s1, s2, s3)


@jit
def fill_uniforms(key, first_replica, out):
    """``out[k, :]`` = the first ``out.shape[1]`` uniform doubles of replica ``first_replica + k``."""
    for k in range(out.shape[0]):
        s0, s1, s2, s3 = seed_replica(key, first_replica + k)
        for j in range(out.shape[1]):
            out[k, j], s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
