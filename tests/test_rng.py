"""Per-replica random streams: distribution of the normals and uniforms, independence between
replicas, and the reproducibility contract."""
import numpy as np
import pytest
import scipy.stats as st

from landscape_sde import rng as lrng

N_DRAWS = 2_000_000


@pytest.fixture(scope="module")
def normals():
    return lrng.standard_normals(20, N_DRAWS // 20, rng=2024)


def test_normal_moments(normals):
    x = normals.ravel()
    n = x.size
    # Standard errors of the sample mean, variance, skewness and excess kurtosis of N(0,1):
    # 1/√n, √(2/n), √(6/n), √(24/n); 5 of them leaves a 1-in-10⁶ false-alarm rate per check.
    assert abs(x.mean()) < 5 / np.sqrt(n)
    assert abs(x.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(st.skew(x)) < 5 * np.sqrt(6 / n)
    assert abs(st.kurtosis(x)) < 5 * np.sqrt(24 / n)


def test_normal_distribution_ks_and_tails(normals):
    x = normals.ravel()
    # Fixed seed, so the p-value is a fixed number; 1e-4 leaves room for an unlucky seed while
    # the negative control below (a 1% scale error) gives p ~ 1e-30.
    assert st.kstest(x, "norm").pvalue > 1e-4
    assert st.kstest(1.01 * x, "norm").pvalue < 1e-10
    # Chi-square on 200 bins over [-5, 5] probes the ziggurat layers, wedges and the tail.
    edges = np.linspace(-5, 5, 201)
    counts, _ = np.histogram(x, edges)
    expected = np.diff(st.norm.cdf(edges)) * x.size
    keep = expected > 20
    chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    assert st.chi2.sf(chi2, keep.sum() - 1) > 1e-4
    # Beyond the ziggurat base r = 3.654 only the exponential-rejection tail sampler acts.
    p_tail = 2 * st.norm.sf(3.6541528853610088)
    tail = np.mean(np.abs(x) > 3.6541528853610088)
    assert abs(tail - p_tail) < 5 * np.sqrt(p_tail / x.size)
    far = x[np.abs(x) > 4.5]
    assert st.kstest(np.abs(far), lambda t: 1 - st.norm.sf(t) / st.norm.sf(4.5)).pvalue > 1e-4


def test_replica_streams_are_independent(normals):
    # Correlation between replica streams and lag-1 autocorrelation within a stream:
    # each has standard error 1/√m.
    m = normals.shape[1]
    corr = np.corrcoef(normals)
    off = corr[~np.eye(corr.shape[0], dtype=bool)]
    assert np.max(np.abs(off)) < 5 / np.sqrt(m)
    lag1 = np.mean(normals[:, 1:] * normals[:, :-1], axis=1)
    assert np.max(np.abs(lag1)) < 5 / np.sqrt(m)


def test_uniforms():
    u = lrng.uniforms(10, 100_000, rng=7).ravel()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert st.kstest(u, "uniform").pvalue > 1e-4
    assert st.kstest(u ** 1.01, "uniform").pvalue < 1e-4  # negative control


def test_replica_stream_depends_only_on_seed_and_index():
    full = lrng.standard_normals(50, 64, rng=11)
    part = lrng.standard_normals(5, 64, rng=11, first_replica=20)
    np.testing.assert_array_equal(full[20:25], part)
    assert not np.array_equal(full, lrng.standard_normals(50, 64, rng=12))


def test_rng_argument_forms():
    ss = np.random.SeedSequence(5)
    a = lrng.standard_normals(2, 8, rng=5)
    np.testing.assert_array_equal(a, lrng.standard_normals(2, 8, rng=ss))
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(lrng.standard_normals(2, 8, rng=g1),
                                  lrng.standard_normals(2, 8, rng=g2))
    assert not np.array_equal(lrng.standard_normals(2, 8, rng=None),
                              lrng.standard_normals(2, 8, rng=None))
    with pytest.raises(ValueError, match="rng"):
        lrng.as_seed_sequence(-1)
    with pytest.raises(TypeError, match="rng"):
        lrng.as_seed_sequence("seed")
