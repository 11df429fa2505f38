"""Keskar's sharpness metric against closed forms, and the batch-size sweep (analysis.large_batch).

Statistical tolerance in the sweep: 4 standard errors across 8 replicas of each batch size.
"""
import itertools

import numpy as np
import pytest

from analysis.large_batch import batch_size_sweep, keskar_sharpness
from models import Quadratic
from models.deep_linear import DeepLinearNetwork


def test_keskar_on_diagonal_quadratic_is_the_vertex_value():
    # max of ½ Σ h_i y_i² over |y_i| ≤ ε(|c_i| + 1) is ½ Σ h_i ε²(|c_i| + 1)², L(c) = 0.
    h, c, eps = np.array([2.0, 0.5, 1.0]), np.array([0.3, -1.2, 2.0]), 1e-2
    q = Quadratic(np.diag(h), center=c)
    exact = 100 * 0.5 * np.sum(h * (eps * (np.abs(c) + 1)) ** 2)
    assert keskar_sharpness(q, c, eps, rng=0) == pytest.approx(exact, rel=1e-8)
    # Negative control: the box without the (|θ_i| + 1) scaling gives a different number.
    assert abs(100 * 0.5 * np.sum(h * eps**2) - exact) > 0.5 * exact


def test_keskar_on_correlated_quadratic_matches_vertex_enumeration():
    # Convex L: the maximum over a box is at a vertex; enumerate all 2³ of them.
    Hm = np.array([[2.0, 0.8, 0.3], [0.8, 1.0, -0.4], [0.3, -0.4, 0.7]])
    q = Quadratic(Hm)
    theta, eps = np.array([0.5, -0.2, 0.1]), 0.05
    r = eps * (np.abs(theta) + 1)
    best = max(q.loss(theta + np.array(s) * r) for s in itertools.product((-1, 1), repeat=3))
    exact = 100 * (best - q.loss(theta)) / (1 + q.loss(theta))
    assert keskar_sharpness(q, theta, eps, n_starts=8, rng=1) == pytest.approx(exact, rel=1e-8)
    with pytest.raises(ValueError, match="epsilon"):
        keskar_sharpness(q, theta, 0.0)


def test_batch_size_sweep_fixed_lr_and_fixed_noise_scale():
    net = DeepLinearNetwork.teacher_student([4, 4, 4], 128, noise=1.0, n_test=512, rng=0)
    th0 = net.init(rng=1)
    fixed_lr = batch_size_sweep(net, th0, [4, 64], n_epochs=10, lr=0.02, n_replicas=8, rng=0)
    np.testing.assert_array_equal(fixed_lr.n_updates, [320, 20])
    # Fewer updates at equal epochs (Hoffer et al.): higher training and test loss at b = 64.
    for a in (fixed_lr.train_loss, fixed_lr.test_loss):
        se = np.hypot(*a.std(axis=1, ddof=1)) / np.sqrt(8)
        assert (a[1].mean() - a[0].mean()) / se > 4
    assert np.all(fixed_lr.sharpness > 0) and np.all(fixed_lr.keskar > 0)
    fixed_g = batch_size_sweep(net, th0, [4, 16], n_epochs=2, noise_scale_g=0.3, n_replicas=2, rng=0)
    np.testing.assert_allclose(fixed_g.noise_scales, 0.3)
    np.testing.assert_allclose(fixed_g.lrs, [0.3 / 31, 0.3 / 7])
    with pytest.raises(ValueError, match="exactly one"):
        batch_size_sweep(net, th0, [4], n_epochs=1)
