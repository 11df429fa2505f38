"""Degenerate-minimum landscapes: a valley ``L(x, y) = ½ λ(x) y²`` whose floor ``y = 0`` is a
continuum of minima of varying flatness ``F(x) = λ(x)^{−1/2}`` (after Yang,
Tang & Tu, PRL 2023).

- :class:`Valley` carries its own Itô noise: ``D_x = Δ/κ`` along the valley and
  ``D_y = Δ + α L`` across it (``α = 0``: constant anisotropic noise; ``α > 0``: noise that
  grows with the loss, as SGD's does near an interpolating minimum). Simulated with
  ``AnisotropicLangevin``; solved with the Fokker-Planck solver.
- :class:`FiniteSumValley` is a data-driven finite sum with the same mean loss whose mini-batch
  noise produces that anisotropy, so SGD itself (and its SME) can be run on it.
"""
import numpy as np
import sympy as sp

from landscape_sde import checks as _v
from landscape_sde.noise import batch_noise_factor
from landscape_sde.symbolic import SymbolicModel

__all__ = ["Valley", "FiniteSumValley"]

X, Y = sp.symbols("x y")


def _curvature(lam, lam0, amp):
    """λ(x): the built-in periodic profile ``lam0 (1 + amp cos x)`` or a SymPy expression in x."""
    if isinstance(lam, str):
        if lam != "cosine":
            raise ValueError(f"lam: expected 'cosine' or a SymPy expression in x, got {lam!r}")
        lam0 = _v.positive("lam0", lam0)
        amp = _v.real("amp", amp, low=0.0, high=1.0, high_open=True)
        return lam0 * (1 + amp * sp.cos(X)), True
    try:
        expr = sp.sympify(lam, strict=True)
    except (sp.SympifyError, TypeError):
        raise TypeError(f"lam: expected 'cosine' or a SymPy expression in x, got {lam!r}") from None
    if not isinstance(expr, sp.Expr) or not expr.free_symbols <= {X}:
        raise ValueError(f"lam: expected an expression in x only, got {lam!r} with free symbols "
                         f"{sorted(map(str, getattr(expr, 'free_symbols', ())))}")
    _check_positive(expr)
    return expr, False


#: where a custom λ(x) that SymPy cannot prove positive is checked numerically
CHECK_X = np.linspace(-4 * np.pi, 4 * np.pi, 8193)


def _check_positive(expr):
    """λ(x) must be positive (the flatness ``λ^{-1/2}`` is NaN otherwise): proved by SymPy's
    assumptions for a real ``x``, or else checked on :data:`CHECK_X` (``[−4π, 4π]``, which
    holds every grid of the figures and tests)."""
    xr = sp.Symbol("x", real=True)
    if expr.subs(X, xr).is_positive:
        return
    with np.errstate(all="ignore"):
        values = np.broadcast_to(np.asarray(sp.lambdify(X, expr, "numpy")(CHECK_X), dtype=complex),
                                 CHECK_X.shape)
    bad = ~np.isfinite(values) | (np.abs(values.imag) > 0) | (values.real <= 0)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"lam: the curvature λ(x) = {expr} must be positive for every x, got "
                         f"λ({CHECK_X[k]:.4g}) = {complex(values[k]).real:.4g}"
                         + ("" if values[k].imag == 0 else f"{complex(values[k]).imag:+.4g}j"))


class _ValleyBase(SymbolicModel):
    def _setup_curvature(self, lam_expr, periodic):
        self.lam_expr = lam_expr
        self.periodic = periodic
        self._lam = sp.lambdify(X, lam_expr, "numpy")
        self._dlam = sp.lambdify(X, sp.diff(lam_expr, X), "numpy")

    def curvature(self, x):
        """``λ(x)``, the curvature across the valley."""
        return np.broadcast_to(np.asarray(self._lam(np.asarray(x, dtype=float)), dtype=float),
                               np.shape(x)).copy()

    def flatness(self, x):
        """``F(x) = λ(x)^{−1/2}``."""
        return self.curvature(x) ** -0.5


class Valley(_ValleyBase):
    """``L(x, y) = ½ λ(x) y²`` with noise ``D_x = Δ/κ`` along and ``D_y = Δ + α L`` across.

    Parameters
    ----------
    lam : "cosine" or sympy.Expr
        Curvature profile: ``lam0 (1 + amp cos x)`` (periodic in x with period 2π; flattest at
        x = π), or any positive expression in the symbol ``models.valley.X``.
    lam0, amp : float
        Parameters of the cosine profile.
    delta : float
        ``Δ > 0``, noise across the valley (in units of the loss).
    kappa : float
        ``κ > 0``, anisotropy: the noise along the valley is ``Δ/κ``.
    alpha : float
        ``α >= 0``, growth of the noise across the valley with the loss.
    """

    def __init__(self, lam="cosine", *, lam0=1.0, amp=0.5, delta=0.01, kappa=4.0, alpha=0.0):
        lam_expr, periodic = _curvature(lam, lam0, amp)
        self.delta = _v.positive("delta", delta)
        self.kappa = _v.positive("kappa", kappa)
        self.alpha = _v.real("alpha", alpha, low=0.0)
        loss = lam_expr * Y**2 / 2
        super().__init__(loss, (X, Y), (), [np.zeros(1)],
                         diffusion=[sp.Float(self.delta / self.kappa), self.delta + self.alpha * loss])
        self._setup_curvature(lam_expr, periodic)

    @property
    def name(self):
        return "Valley"

    def params(self):
        return {"lam": sp.sstr(self.lam_expr), "delta": self.delta, "kappa": self.kappa,
                "alpha": self.alpha}


class FiniteSumValley(_ValleyBase):
    """A finite sum with mean loss ``½ λ(x) y²`` whose SGD noise is anisotropic.

    ``ℓ_n(x, y) = ½ λ(x) (1 + σ_r r_n) y² + σ_y u_n y + σ_x v_n x`` with ``u, v, r`` zero-mean,
    unit-variance and mutually orthogonal over the N samples (DCT-II modes 1-3, deterministic),
    so ``(1/N) Σ_n ℓ_n = ½ λ(x) y²`` exactly. The per-sample gradient covariance is
    ``diag(σ_x², σ_y²)`` plus, if ``σ_r > 0``, terms that grow with the loss:
    ``C_yy = σ_y² + 2 λ σ_r² L``. The SME of SGD with learning rate ``η`` and batch size ``b``
    therefore has ``Δ = (η/2) c_b σ_y²``, ``κ = σ_y² / σ_x²`` and ``α = η c_b λ σ_r²``
    (see :meth:`sme_parameters`).

    Parameters
    ----------
    lam, lam0, amp : as in :class:`Valley`
    sigma_x, sigma_y : float
        Per-sample gradient noise along and across the valley (``> 0``).
    sigma_r : float
        Relative per-sample spread of the curvature (``>= 0``): loss-dependent noise.
    n_samples : int
        ``N >= 4``.
    """

    def __init__(self, lam="cosine", *, lam0=1.0, amp=0.5, sigma_x=0.5, sigma_y=1.0,
                 sigma_r=0.0, n_samples=16):
        lam_expr, periodic = _curvature(lam, lam0, amp)
        self.sigma_x = _v.positive("sigma_x", sigma_x)
        self.sigma_y = _v.positive("sigma_y", sigma_y)
        self.sigma_r = _v.real("sigma_r", sigma_r, low=0.0)
        n = _v.integer("n_samples", n_samples, low=4)
        i = np.arange(n)[:, None] + 0.5
        modes = np.sqrt(2.0) * np.cos(np.pi * i * np.arange(1, 4) / n)  # mean 0, variance 1
        u, v, r = sp.symbols("u v r")
        loss = lam_expr * (1 + self.sigma_r * r) * Y**2 / 2 + self.sigma_y * u * Y + self.sigma_x * v * X
        super().__init__(loss, (X, Y), (u, v, r), [np.ascontiguousarray(modes[:, k]) for k in range(3)])
        self._setup_curvature(lam_expr, periodic)

    @property
    def name(self):
        return "FiniteSumValley"

    def params(self):
        return {"lam": sp.sstr(self.lam_expr), "sigma_x": self.sigma_x, "sigma_y": self.sigma_y,
                "sigma_r": self.sigma_r, "n_samples": self.n_samples}

    def sme_parameters(self, lr, batch_size, replace=False, x=0.0):
        """``(Δ, κ, α)`` of the SME of SGD(lr, batch_size) on this valley (α at position x):
        ``Δ = (η/2) Var_B(∂_y ℓ_B)`` on the floor, ``Δ/κ = (η/2) Var_B(∂_x ℓ_B)``."""
        c_b = batch_noise_factor(self.n_samples, batch_size, replace)
        delta = 0.5 * lr * c_b * self.sigma_y**2
        return delta, self.sigma_y**2 / self.sigma_x**2, float(lr * c_b * self.curvature(x) * self.sigma_r**2)
