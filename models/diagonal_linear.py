"""The two-layer diagonal linear network ``f(x) = Σ_j u_j v_j x_j`` on a square loss.

``L(θ) = (1/2N) Σ_n (Σ_j u_j v_j x_nj − y_n)²`` with ``θ = (u_1, …, u_d, v_1, …, v_d)``. Its
minima form a ``d``-dimensional manifold (each product ``β_j = u_j v_j`` is fixed at a
least-squares solution, the balance of each pair is free); gradient flow conserves every
``D_j = u_j² − v_j²``, and one step of any gradient method with batch gradient coefficient
``ĝ_j`` multiplies it by ``1 − η² ĝ_j²``. The product network is the case ``d = 1``. Used for
the drift that label noise induces along the manifold (``docs/label_noise.md``).
"""
import numpy as np
import sympy as sp

from landscape_sde import checks as _v
from landscape_sde.rng import as_seed_sequence
from landscape_sde.symbolic import SymbolicModel

__all__ = ["DiagonalLinearNetwork"]


class DiagonalLinearNetwork(SymbolicModel):
    """``f(x) = Σ_j u_j v_j x_j`` with targets ``y`` (square loss, label-noise ready).

    Parameters
    ----------
    X : array_like (N, d)
        Inputs (``1 <= d <= 8``: the kernels are generated symbolically).
    y : array_like (N,)
        Targets.
    """

    def __init__(self, X, y):
        X = _v.finite_array("X", X, ndim=2)
        if not 1 <= X.shape[1] <= 8:
            raise ValueError(f"X: expected 1 to 8 input columns, got shape {X.shape}")
        y = _v.finite_array("y", y, shape=(X.shape[0],))
        d = X.shape[1]
        u, v = sp.symbols(f"u1:{d + 1}"), sp.symbols(f"v1:{d + 1}")
        x, t = sp.symbols(f"x1:{d + 1}"), sp.Symbol("y")
        f = sum(ui * vi * xi for ui, vi, xi in zip(u, v, x))
        super().__init__((f - t) ** 2 / 2, u + v, x + (t,),
                         [np.ascontiguousarray(X[:, j]) for j in range(d)] + [y], target=t)
        self.X, self.y, self.width = X, y, d

    @classmethod
    def orthogonal_design(cls, scales, beta, n_samples=8, rng=None):
        """Inputs with exactly diagonal second moment ``(1/N) XᵀX = diag(scales²)`` (rows of a
        sign pattern with orthogonal columns, scaled) and interpolating targets ``y = Xβ``:
        the coordinates of the dynamics decouple. ``n_samples`` a power of two ``>= 2d``."""
        scales = _v.finite_array("scales", scales, ndim=1)
        beta = _v.finite_array("beta", beta, shape=scales.shape)
        n = _v.integer("n_samples", n_samples, low=2)
        if n & (n - 1) or n < 2 * scales.size:
            raise ValueError(f"n_samples: expected a power of two >= {2 * scales.size}, got {n}")
        h = np.array([[1.0]])
        while h.shape[0] < n:
            h = np.block([[h, h], [h, -h]])  # Sylvester-Hadamard: orthogonal ±1 columns
        gen = np.random.default_rng(as_seed_sequence(rng))
        cols = gen.choice(np.arange(1, n), size=scales.size, replace=False)
        X = h[:, cols] * scales
        return cls(X, X @ beta)

    @property
    def name(self):
        return "DiagonalLinearNetwork"

    def split(self, theta):
        """``(u, v)`` from ``θ`` (``(..., 2d)``)."""
        theta = np.asarray(theta, dtype=float)
        return theta[..., : self.width], theta[..., self.width:]

    def params(self):
        return {"width": self.width, "n_samples": self.n_samples}
