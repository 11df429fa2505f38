"""Mini-batch covariance factors against exact enumeration of every batch."""
import itertools

import numpy as np
import pytest

from landscape_sde import noise
from models import Quadratic


def _enumerated_cov(g, b, replace):
    """Exact ``Cov g_B``: average over all ordered b-tuples (i.i.d.) or all b-subsets (uniform)."""
    n = g.shape[0]
    batches = (itertools.product(range(n), repeat=b) if replace
               else itertools.combinations(range(n), b))
    means = np.array([g[list(B)].mean(axis=0) for B in batches])
    centred = means - means.mean(axis=0)
    return centred.T @ centred / len(means)


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("b", [1, 2, 3, 5, 6])
def test_batch_factor_matches_enumeration(b, replace):
    g = np.random.default_rng(0).normal(size=(6, 2))
    exact = _enumerated_cov(g, b, replace)
    np.testing.assert_allclose(noise.minibatch_covariance(g, b, replace), exact, atol=1e-14)
    if b > 1:  # negative control: the other sampling rule gives a different covariance
        wrong = noise.minibatch_covariance(g, b, not replace)
        assert not np.allclose(wrong, exact, rtol=0.05)


def test_factor_values_and_validation():
    assert noise.batch_noise_factor(10, 10, replace=False) == 0.0
    assert noise.batch_noise_factor(10, 4, replace=True) == 0.25
    assert noise.batch_noise_factor(10, 4) == pytest.approx(6 / 36)
    with pytest.raises(ValueError, match="batch_size"):
        noise.batch_noise_factor(10, 11)
    with pytest.raises(ValueError, match="batch_size"):
        noise.batch_noise_factor(10, 0)


def test_quadratic_per_sample_covariance_is_exact():
    cov = np.array([[1.0, 0.4], [0.4, 0.3]])
    model = Quadratic(np.diag([1.0, 2.0]), cov, n_samples=5)
    for theta in ([0.0, 0.0], [1.0, -2.0]):
        np.testing.assert_allclose(noise.per_sample_covariance(model.sample_grads(theta)), cov,
                                   atol=1e-14)
    d = noise.sme_diffusion(model, [0.3, 0.1], lr=0.1, batch_size=2)
    np.testing.assert_allclose(d, 0.05 * noise.batch_noise_factor(5, 2) * cov, atol=1e-15)
