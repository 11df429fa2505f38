"""Mean-square stability of SGD at an interpolating minimum against simulation."""
import numpy as np
import pytest
import scipy.optimize

import landscape_sde as lsde
from analysis.stability import mean_square_stability, wu_ma_e_criterion
from models import LinearRegression


def _interpolating_model():
    # noiseless teacher-student regression: every per-sample gradient vanishes at θ* = teacher
    return LinearRegression.teacher_student(8, 2, noise=0.0, rng=7)


def _edge(model, b):
    f = lambda lr: mean_square_stability(model, model.teacher, lr, b) - 1.0  # noqa: E731
    return scipy.optimize.brentq(f, 1e-3, 1.99 / np.linalg.eigvalsh(model.hessian(None))[-1])


def test_gd_limit_and_batch_dependence():
    model = _interpolating_model()
    lam = np.linalg.eigvalsh(model.hessian(None))[-1]
    # b = N without replacement is GD: the edge is 2/λ_max exactly
    full = scipy.optimize.brentq(lambda lr: mean_square_stability(model, model.teacher, lr, 8) - 1,
                                 0.5 / lam, 2.5 / lam)
    assert full == pytest.approx(2 / lam, rel=1e-9)
    # smaller batches lose stability at smaller learning rates
    edges = [_edge(model, b) for b in (1, 2, 4)]
    assert edges[0] < edges[1] < edges[2] < 2 / lam
    assert mean_square_stability(model, model.teacher, 0.5 * edges[0], 1) < 1.0


def test_criteria_coincide_for_commuting_hessians():
    # Inputs along the coordinate axes make every H_i = x_i x_iᵀ diagonal: the moment map then
    # decouples and its radius is max_j (1 − ηh_j)² + η² c_b Var_i(h_ij), which is exactly the
    # Wu-Ma-E quantity λ_max[(I − ηH)² + η² c_b Σ_H]. Non-commuting H_i (the model above) differ.
    X = np.array([[1.0, 0], [2.0, 0], [0, 1.0], [0, 3.0], [1.5, 0], [0, 0.5]])
    model = LinearRegression(X, X @ np.array([0.3, -0.7]))
    theta = np.array([0.3, -0.7])
    for lr, b in ((0.1, 1), (0.3, 2), (0.4, 3)):
        assert mean_square_stability(model, theta, lr, b) == pytest.approx(
            wu_ma_e_criterion(model, theta, lr, b), rel=1e-12)
    other = _interpolating_model()
    assert mean_square_stability(other, other.teacher, 0.3, 1) != pytest.approx(
        wu_ma_e_criterion(other, other.teacher, 0.3, 1), rel=1e-3)


@pytest.mark.parametrize("b", [1, 2])
def test_simulation_stays_or_leaves_as_predicted(b):
    # From δ0 of size 1e-3 at the minimum, 2000 replicas for 60 steps at 0.8 and 1.25 times the
    # predicted edge: the mean squared deviation grows like ρ^k, ρ the spectral radius (0.2 to
    # 0.8 per step below, > 1.2 above: factors 1e-6 vs 1e5 over 60 steps).
    model = _interpolating_model()
    edge = _edge(model, b)
    start = model.teacher + 1e-3 * np.array([0.6, -0.8])
    for factor, grows in ((0.8, False), (1.25, True)):
        lr = factor * edge
        rho = mean_square_stability(model, model.teacher, lr, b)
        ens = lsde.simulate(model, lsde.SGD(lr, b), start, n_steps=60, n_replicas=2000,
                            save_at=[0, 60], rng=1, divergence_bound=1e300)
        msd = np.nanmean(np.sum((ens.theta - model.teacher) ** 2, axis=-1), axis=1)
        ratio = msd[-1] / msd[0]
        if grows:
            assert rho > 1 and ratio > 1e2
        else:
            assert rho < 1 and ratio < 1e-2
