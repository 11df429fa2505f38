"""Stationary probability currents and entropy production against the closed form for linear
(Ornstein-Uhlenbeck) processes; SGD's stationary state out of equilibrium when H and the noise
covariance do not commute."""
import warnings

import numpy as np
import pytest

import landscape_sde as lsde
from analysis.stationary import continuous_lyapunov, ou_entropy_production
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import Quadratic

H = np.array([[1.0, 0.6], [0.6, 2.0]])


def ou(D, shape, half_widths):
    grid = Grid(-np.asarray(half_widths), half_widths, shape)
    fp = FokkerPlanck(grid, lambda p: np.broadcast_to(D, (len(p), 2, 2)),
                      potential=lambda x: 0.5 * np.einsum("mi,ij,mj->m", x, H, x))
    return fp, grid


def test_ou_current_and_entropy_production_against_closed_form():
    # D does not commute with H ([H, D]_12 = −0.036): σ = 0.480 (closed form). Box ±(1.7, 1.2)
    # (≥ 5 standard deviations) with h_x/h_y = 1.4 ≈ √(D_xx/D_yy), so the cross stencil is
    # monotone at 160²; σ converges at O(h²): measured −2.2e-2, −6.3e-3, −1.6e-3 on 48², 96²,
    # 192²; tolerance 4e-3 at 160² (measured 2.3e-3).
    D = np.array([[0.1, 0.04], [0.04, 0.05]])
    fp, grid = ou(D, (160, 160), [1.7, 1.2])
    p = fp.stationary()
    assert fp.report(p)["negative_couplings"] == 0
    exact = ou_entropy_production(H, D)
    assert exact == pytest.approx(0.48039215686, rel=1e-9)  # ([H,D]_12)² / (tr H det D)
    assert fp.entropy_production(p) == pytest.approx(exact, rel=4e-3)
    # the current itself: J = −(H − D S⁻¹) θ p, a rotation about the minimum
    S = continuous_lyapunov(H, D)
    x = grid.centers()
    J_exact = -(x @ (H - D @ np.linalg.inv(S)).T) * p.reshape(-1, 1)
    J = fp.current(p).reshape(-1, 2)
    assert np.abs(J - J_exact).sum() / np.abs(J_exact).sum() < 5e-3  # O(h²): measured 1.6e-3
    def curl(j):
        return np.sum(x[:, 0] * j[:, 1] - x[:, 1] * j[:, 0])
    assert curl(J) * curl(J_exact) > 0  # same sense of rotation
    # negative control: the same density with D commuting with H (D ∝ H) carries no current
    fp0, _ = ou(0.05 * H, (160, 160), [1.7, 1.2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # D ∝ H has correlation 0.42
        sigma0 = fp0.entropy_production()
    assert ou_entropy_production(H, 0.05 * H) == pytest.approx(0, abs=1e-12)
    assert sigma0 < 1e-4 * exact  # O(h⁴) (J is O(h²)): measured 3e-6


def test_reversible_operator_has_no_current():
    # Isotropic D and a potential: detailed balance, σ = 0 to round-off. The same potential
    # with a constant *diagonal* anisotropic D is not in equilibrium: D⁻¹∇L is a gradient
    # only if ∂_x∂_y L = 0 (the OU analogue: [H, D] ≠ 0).
    grid = Grid([-2.0, -2.0], [2.0, 2.0], (40, 40))
    def potential(x):
        return (x[:, 0] ** 2 - 1) ** 2 + x[:, 0] * x[:, 1] + x[:, 1] ** 2
    fp = FokkerPlanck(grid, 0.3, potential=potential)
    assert fp.reversible and fp.entropy_production() < 1e-20
    aniso = FokkerPlanck(grid, lambda p: np.broadcast_to([0.3, 0.1], (len(p), 2)), potential=potential)
    assert not aniso.reversible and aniso.entropy_production() > 0.1


def test_sgd_stationary_state_is_out_of_equilibrium():
    # The README's quadratic: the SME's D = (η/2) c_b C with C not commuting with H. On a
    # quadratic, D ∝ η and S ∝ η, so σ does not depend on η: the irreversibility is set by the
    # misalignment of noise and curvature, not by the noise level. The irreversible part of
    # the current is small against the reversible-looking part of each face flux, so the
    # relative grid error is larger than above: measured 29%, 3.2%, 0.6% on 64², 128², 256²
    # (box ±5 standard deviations); tolerance 6% at 128².
    C = np.array([[1.0, -0.45], [-0.45, 0.3]])
    model = Quadratic(H, C, n_samples=8)
    c_b = lsde.noise.batch_noise_factor(8, 2)
    exact = ou_entropy_production(H, 0.15 * c_b * C)
    assert exact == pytest.approx(0.03 ** 2 / (3 * 0.0975), rel=1e-9)
    for lr in (0.1, 0.3):
        assert ou_entropy_production(H, lr / 2 * c_b * C) == pytest.approx(exact, rel=1e-9)
        w = np.sqrt(np.diag(continuous_lyapunov(H, lr / 2 * c_b * C)))
        grid = Grid(-5 * w, 5 * w, (128, 128))
        fp = FokkerPlanck.from_model(model, lsde.SME(lr, 2), grid)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # correlation 0.82: a few negatives
            sigma = fp.entropy_production()
        assert sigma == pytest.approx(exact, rel=0.06)
    # negative control: isotropic noise (C ∝ I commutes with H) is in equilibrium
    iso = FokkerPlanck.from_model(Quadratic(H, 0.5 * np.eye(2), n_samples=8), lsde.SME(0.3, 2), grid)
    assert iso.entropy_production() < 1e-3 * exact  # (round-off cross terms: not flagged reversible)
