"""Online SGD on Gaussian linear regression: the exact stationary second moment (Gaussian
fourth moments) against a fresh-sample simulation, and the small-η SDE value rejected."""
import numpy as np
import pytest

from analysis import online


def test_online_stationary_moment_exact_and_sde_rejected():
    lr, b, d, noise = 0.1, 4, 10, 0.5
    # relaxation ~ (1 − 2η)^k: 400 steps are ~80 e-foldings past the start at w = 0
    w = online.simulate_online(lr, b, d, noise, n_steps=400, n_replicas=2000, rng=0)
    v = (w**2).mean(axis=1)  # per replica (independent); its coordinates are correlated
    mean, se = v.mean(), v.std(ddof=1) / np.sqrt(v.size)
    exact = online.stationary_variance(lr, b, d, noise)
    assert abs(mean - exact) < 4 * se, (mean, se, exact)
    # Negative control: the SDE value ησ²/(2b) is 19% lower, ~18 s.e. here.
    assert abs(mean - online.sde_variance(lr, b, noise)) > 10 * se


def test_online_bad_input():
    with pytest.raises(ValueError, match="lr"):
        online.stationary_variance(1.0, 4, 10, 0.5)  # beyond 2b/(b + d + 1)
    with pytest.raises(ValueError, match="noise"):
        online.stationary_variance(0.1, 4, 10, -0.5)
