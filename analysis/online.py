"""Online SGD on Gaussian linear regression: the exact stationary second moment.

Each step draws ``b`` fresh inputs ``x ~ N(0, I_d)`` and labels ``y = xᵀθ* + σ ε`` and takes
``θ ← θ − η (1/b) Σ_i x_i (x_iᵀθ − y_i)``. With ``w = θ − θ*`` and ``W = E wwᵀ``, the Gaussian
fourth moment ``E[x xᵀ A x xᵀ] = 2A + tr(A) I`` (symmetric ``A``) closes the recursion:

    W' = W − 2ηW + η² [((b + 1)/b) W + ((tr W + σ²)/b) I],

whose isotropic fixed point is ``W = s I`` with ``s = ησ² / (2b − η(b + d + 1))`` (stable for
``η < 2b/(b + d + 1)``). The small-``η`` SDE (``dw = −w dt + √(η Σ) dW``, ``Σ = σ² I / b`` at
the minimum) gives ``ησ²/(2b)``: the fourth moments add ``η(b + d + 1)/(2b)`` in relative
terms, large when ``d`` is comparable to ``b/η``. (A finite data set of ``N`` samples instead
has a non-zero empirical minimiser and a noise covariance set by its residuals.) Derivation:
:func:`analysis.derivations.online_linreg_moment`.
"""
import numpy as np

from landscape_sde import checks as _v
from landscape_sde.rng import as_generator

__all__ = ["stationary_variance", "sde_variance", "simulate_online"]


def stationary_variance(lr, batch_size, dim, noise):
    """Exact stationary ``E w_j²`` of online SGD (per coordinate; ``E wwᵀ = s I``)."""
    lr, sigma = _v.positive("lr", lr), _v.real("noise", noise, low=0.0)
    b, d = _v.integer("batch_size", batch_size, low=1), _v.integer("dim", dim, low=1)
    den = 2 * b - lr * (b + d + 1)
    if den <= 0:
        raise ValueError(f"lr: online SGD has no stationary state for lr >= 2b/(b + d + 1) = "
                         f"{2 * b / (b + d + 1):.6g}, got {lr}")
    return lr * sigma**2 / den


def sde_variance(lr, batch_size, noise):
    """The small-``η`` SDE value ``ησ²/(2b)``."""
    return _v.positive("lr", lr) * _v.real("noise", noise, low=0.0) ** 2 / (
        2 * _v.integer("batch_size", batch_size, low=1))


def simulate_online(lr, batch_size, dim, noise, n_steps, n_replicas, rng=None):
    """Online SGD from ``w = 0`` in NumPy, vectorised over replicas (a reference for tests;
    fresh Gaussian samples every step from ``rng``): ``w`` after ``n_steps``, ``(n_replicas, dim)``."""
    gen = as_generator(rng)
    b, d = int(batch_size), int(dim)
    w = np.zeros((int(n_replicas), d))
    for _ in range(int(n_steps)):
        x = gen.standard_normal((w.shape[0], b, d))
        r = np.einsum("rbd,rd->rb", x, w) - noise * gen.standard_normal((w.shape[0], b))
        w -= lr / b * np.einsum("rbd,rb->rd", x, r)
    return w
