"""The effective SGD-loss from a stationary density (Yang, Tang & Tu 2023).

At stationarity write ``P_ss ∝ exp(−L_eff / Δ)``: ``L_eff = −Δ ln P_ss`` (up to a constant) is
the loss that a Boltzmann distribution at temperature ``Δ`` would need to reproduce the
stationary state, and ``L_SGD = L_eff − L`` is what the noise adds. On the valley
``L = ½ λ(x) y²`` in the adiabatic regime (``λ ≫ Δ/κ``): ``P(y|x) = N(0, Δ/λ(x))``,
``p(x) ∝ F(x)^κ`` and ``L_SGD = −(κ − 1) Δ ln F`` with ``F = λ^{−1/2}``: a loss that falls
with flatness, of strength ``∝ Δ ∝ η/b``, absent for isotropic noise (``κ = 1``).
"""
import numpy as np
import scipy.integrate

from landscape_sde import checks as _v

__all__ = ["effective_loss", "sgd_loss", "adiabatic_sgd_loss", "adiabatic_marginal",
           "loss_dependent_mean_loss"]


def effective_loss(p, grid, temperature):
    """``L_eff = −Δ ln p`` on the grid (shape ``grid.shape``), shifted to minimum 0 (NaN where
    ``p <= 0``).

    Parameters
    ----------
    p : ndarray
        A stationary density on ``grid`` (flat or of the grid's shape).
    grid : landscape_sde.fokker_planck.Grid
    temperature : float
        ``Δ``, the noise scale that converts log-probabilities into loss units.
    """
    temperature = _v.positive("temperature", temperature)
    p = _v.real_array("p", p)
    if p.size != int(np.prod(grid.shape)):
        raise ValueError(f"p: expected a density on the grid of shape {grid.shape}, got shape "
                         f"{p.shape} ({p.size} values)")
    p = p.reshape(grid.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, -temperature * np.log(np.where(p > 0, p, 1.0)), np.nan)
    return out - np.nanmin(out)


def sgd_loss(p, grid, loss_values, temperature):
    """``L_SGD = L_eff − L`` on the grid (shape ``grid.shape``), shifted to minimum 0."""
    out = effective_loss(p, grid, temperature) - np.asarray(loss_values, dtype=float).reshape(grid.shape)
    return out - np.nanmin(out)


def adiabatic_sgd_loss(flatness, delta, kappa):
    """``L_SGD = −(κ − 1) Δ ln F``, shifted to minimum 0."""
    kappa = _v.positive("kappa", kappa)
    delta = _v.positive("delta", delta)
    out = -(kappa - 1.0) * delta * np.log(np.asarray(flatness, dtype=float))
    return out - out.min()


def adiabatic_marginal(x, lam, dlam, d_x, d_y):
    """Marginal ``p(x) ∝ D_x⁻¹ exp(−∫ λ' D_y / (2 λ D_x) dx)`` on a grid ``x`` (position-
    dependent noise, adiabatic limit), normalised by the trapezoid rule.

    ``lam, dlam, d_x, d_y`` are arrays (or callables of x) for ``λ, λ', D_x, D_y`` on the
    valley floor. On a periodic axis the result is periodic only if the exponent integrates to
    zero over a period; otherwise the stationary state carries a flux along the valley.
    """
    x = np.asarray(x, dtype=float)
    ev = lambda f: np.broadcast_to(f(x) if callable(f) else np.asarray(f, float), x.shape)  # noqa: E731
    lam, dlam, d_x, d_y = ev(lam), ev(dlam), ev(d_x), ev(d_y)
    phi = scipy.integrate.cumulative_trapezoid(-dlam * d_y / (2 * lam * d_x), x, initial=0)
    p = np.exp(phi - phi.max()) / d_x
    return p / np.trapezoid(p, x)


def loss_dependent_mean_loss(d0, alpha, lr_curvature=0.0):
    """Stationary ``⟨L⟩`` on a valley of curvature ``λ`` with ``D_y = D_0 + α L``:
    ``D_0 / (2 − α)`` for the SDE (``lr_curvature = 0``), ``D_0 / (2 − ηλ − α)`` for discrete
    SGD (``lr_curvature = ηλ``); ``inf`` past the bound (no stationary second moment)."""
    gap = 2.0 - lr_curvature - alpha
    return d0 / gap if gap > 0 else np.inf
