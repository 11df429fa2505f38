"""A 1-D finite sum with a sharp and a flat minimum of equal depth and one barrier between,
whose mini-batch gradient noise is proportional to the curvature at the critical points (the
Fisher-like regime ``C ≈ F |H|`` of Xie, Sato & Sugiyama, ICLR 2021).

Construction. Let ``x(θ) = (e^{κθ} − 1)/κ`` (monotone for ``0 < κ < 1``; ``x' = e^{κθ} = 1 + κx``)
and the mean loss ``L(θ) = (x² − 1)²``. Then ``L`` has a saddle at ``θ_b = 0`` (``x = 0``) of
height ``ΔL = 1`` and minima at ``x = ±1`` with ``L = 0``:

- sharp: ``θ_s = ln(1 + κ)/κ``, ``L''(θ_s) = 8 (1 + κ)²``;
- flat:  ``θ_f = ln(1 − κ)/κ``, ``L''(θ_f) = 8 (1 − κ)²``; ``L''(0) = −4``

(at a critical point ``L'' = φ''(x) x'²`` with ``φ(x) = (x² − 1)²``). Both barriers are exactly
``ΔL = 1``, so Langevin dynamics, whose escape exponent is ``ΔL/T``, sees the two minima alike.

Per-sample losses ``ℓ_n(θ) = L(θ) + a_n g(θ)`` with data ``a_n`` of mean 0 and variance 1
(exactly, after standardising a Gaussian sample), so the per-sample gradient spread is
``C(θ) = g'(θ)²``. With ``g'(θ) = σ x'(θ) √((1 + x²)/2)``, i.e.
``g = (σ/√2) [x √(1 + x²) + asinh x] / 2``, one has ``C = (σ²/8) |L''|`` at all three
critical points: noise proportional to curvature with the constant ``F = σ²/8``. SGD with
batch ``b`` (with replacement) then has ``Σ_b = C/b``.
"""
import numpy as np
import sympy as sp

from landscape_sde import checks as _v
from landscape_sde.rng import as_generator
from landscape_sde.symbolic import finite_sum, potential

__all__ = ["sharp_flat_well", "sharp_flat_potential", "sharp_flat_geometry", "sharp_flat_loss"]


def sharp_flat_geometry(kappa=1 / 3, sigma=np.sqrt(80.0)):
    """Positions and curvatures of the critical points and the Fisher constant ``F = σ²/8``."""
    kappa = _v.real("kappa", kappa, low=0, high=1, low_open=True, high_open=True)
    sigma = _v.positive("sigma", sigma)
    return {"kappa": kappa, "sigma": sigma, "barrier": 1.0, "fisher": sigma ** 2 / 8,
            "theta_sharp": np.log1p(kappa) / kappa, "theta_flat": np.log1p(-kappa) / kappa,
            "theta_saddle": 0.0, "h_sharp": 8 * (1 + kappa) ** 2, "h_flat": 8 * (1 - kappa) ** 2,
            "h_saddle": -4.0}


def sharp_flat_well(kappa=1 / 3, sigma=np.sqrt(80.0), n_samples=256, rng=None):
    """The finite-sum model of the module docstring (a :class:`~landscape_sde.symbolic.SymbolicModel`).

    Parameters
    ----------
    kappa : float
        Asymmetry ``0 < κ < 1``: curvature ratio sharp/flat ``((1 + κ)/(1 − κ))²``.
    sigma : float
        Noise amplitude ``σ > 0`` (Fisher constant ``F = σ²/8``).
    n_samples : int
        ``N >= 2`` data ``a_n``: a standard normal sample standardised to mean 0, variance 1.
    rng : None, int, SeedSequence or Generator
    """
    geo = sharp_flat_geometry(kappa, sigma)
    n_samples = _v.integer("n_samples", n_samples, low=2)
    a = as_generator(rng).standard_normal(n_samples)
    a = (a - a.mean()) / a.std()
    th, an = sp.symbols("theta a")
    k = sp.Rational(kappa).limit_denominator(10 ** 6) if isinstance(kappa, float) else kappa
    x = (sp.exp(k * th) - 1) / k
    g = sp.sqrt(sp.Float(geo["sigma"] ** 2) / 2) * (x * sp.sqrt(1 + x ** 2) + sp.asinh(x)) / 2
    return finite_sum((x ** 2 - 1) ** 2 + an * g, [th], {an: a})


def sharp_flat_potential(kappa=1 / 3):
    """The mean loss ``L(θ) = (x(θ)² − 1)²`` alone, a data-free model for Langevin dynamics
    (one gradient evaluation per step instead of ``N``)."""
    geo = sharp_flat_geometry(kappa)
    th = sp.Symbol("theta")
    k = sp.Rational(geo["kappa"]).limit_denominator(10 ** 6)
    x = (sp.exp(k * th) - 1) / k
    return potential((x ** 2 - 1) ** 2, [th])


def sharp_flat_loss(theta, kappa=1 / 3):
    """NumPy ``L(θ)`` of both models (vectorised)."""
    x = np.expm1(kappa * np.asarray(theta, dtype=float)) / kappa
    return (x * x - 1) ** 2
