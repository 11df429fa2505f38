"""Product networks: the simplest models with a continuum of minima.

- :class:`ProductNetwork`: ``L(w) = (1/2N) Σ_n (w₁ w₂ x_n − y_n)²`` with ``y_n = x_n + ε_n``.
  Minima form the hyperbola ``w₁ w₂ = Σxy / Σx²``; along it the sharp eigenvalue is
  ``m₂ (w₁² + w₂²)`` (``m₂`` = mean x²), smallest at ``|w₁| = |w₂|``. Gradient flow conserves
  ``w₁² − w₂²``; one SGD step multiplies it by ``1 − η² e_B²`` with ``e_B`` the batch mean of
  ``(w₁w₂x_n − y_n) x_n``, so SGD shrinks it at a rate ``η² c_b Var_n(e_n)`` per step near the
  valley, drifting to the flattest minimum.
- :class:`ScalarProductNetwork`: ``L = ½ (∏_{i=1}^{D} w_i − 1)²``, a data-free potential;
  gradient flow conserves ``w_i² − w_j²`` and GD ends just below the edge ``2/η``.
"""
import numpy as np
import scipy.optimize
import sympy as sp

from landscape_sde import checks as _v
from landscape_sde.rng import as_seed_sequence
from landscape_sde.symbolic import SymbolicModel

__all__ = ["ProductNetwork", "ScalarProductNetwork"]


class ProductNetwork(SymbolicModel):
    """Two-weight linear network ``f(x) = w₁ w₂ x`` on scalar data with label noise.

    Parameters
    ----------
    x, y : array_like (N,), optional
        Data; by default ``x_n ~ N(0, 1)`` and ``y_n = x_n + label_noise · ε_n``.
    n_samples, label_noise, rng :
        Used only when ``x`` and ``y`` are not given.
    """

    def __init__(self, x=None, y=None, *, n_samples=64, label_noise=0.5, rng=None):
        if x is None:
            gen = np.random.default_rng(as_seed_sequence(rng))
            n = _v.integer("n_samples", n_samples, low=2)
            x = gen.standard_normal(n)
            y = x + _v.real("label_noise", label_noise, low=0.0) * gen.standard_normal(n)
        x = _v.finite_array("x", x, ndim=1)
        y = _v.finite_array("y", y, shape=(x.size,))
        w1, w2, u, v = sp.symbols("w1 w2 u v")
        super().__init__((w1 * w2 * u - v) ** 2 / 2, (w1, w2), (u, v), [x, y], target=v)
        self.x, self.y = x, y

    @property
    def name(self):
        return "ProductNetwork"

    @property
    def product(self):
        """The product ``w₁ w₂ = Σxy / Σx²`` on the valley of minima."""
        return float(self.x @ self.y / (self.x @ self.x))

    def valley_point(self, w1):
        """The minimum on the hyperbola with first weight ``w1``."""
        return np.array([w1, self.product / w1])

    def valley_sharpness(self, w):
        """Largest Hessian eigenvalue on the valley, ``m₂ (w₁² + w₂²)``."""
        w = np.asarray(w, dtype=float)
        return float(np.mean(self.x**2) * (w[..., 0] ** 2 + w[..., 1] ** 2))

    def params(self):
        return {"n_samples": self.n_samples, "product": self.product}


class ScalarProductNetwork(SymbolicModel):
    """``L(w) = ½ (∏_{i=1}^{D} w_i − 1)²`` (data-free).

    Parameters
    ----------
    depth : int
        ``D >= 2``.
    """

    def __init__(self, depth=2):
        self.depth = _v.integer("depth", depth, low=2)
        w = sp.symbols(f"w1:{self.depth + 1}")
        super().__init__((sp.Mul(*w) - 1) ** 2 / 2, w, (), [np.zeros(1)])

    @property
    def name(self):
        return "ScalarProductNetwork"

    def gradient_flow_solution(self, w):
        """The minimum that gradient flow reaches from ``w`` (all ``w_i > 0``): it conserves
        ``w_i² − w_j²``, so the limit solves ``∏ w_i = 1`` with ``w_i² = w_1² + (w_i² − w_1²)``,
        a monotone equation in ``w_1²`` (solved by Brent's method)."""
        w = np.asarray(w, dtype=float)
        if np.any(w <= 0):
            raise ValueError(f"w: expected positive weights, got {w}")
        shift = w**2 - w[0] ** 2
        lo = max(0.0, -shift.min()) + 1e-300
        def f(a):  # log ∏ w_i at w_1² = a; −inf at the lower end of the bracket
            with np.errstate(divide="ignore"):
                return np.sum(np.log(a + shift)) / 2
        hi = max(1.0, lo) * 2
        while f(hi) < 0:
            hi *= 2
        a = scipy.optimize.brentq(f, lo, hi, xtol=1e-15, rtol=1e-15)
        return np.sqrt(a + shift)

    def minimum_sharpness(self, w):
        """Sharpness ``Σ_i 1/w_i²`` of the minimum ``w`` (``∏ w = 1``): the Hessian there is
        the outer product of ``∇(∏ w)``."""
        w = np.asarray(w, dtype=float)
        return float(np.sum(1.0 / w**2))

    def gradient_flow_solution_sharpness(self, w):
        """Sharpness of :meth:`gradient_flow_solution` (Kreisler et al., ICML 2023: GD never
        increases it)."""
        return self.minimum_sharpness(self.gradient_flow_solution(w))

    def params(self):
        return {"depth": self.depth}
