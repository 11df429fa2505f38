"""Mini-batch gradient noise and the diffusion tensors of the continuous-time views.

Conventions: the per-sample covariance is
``C(θ) = (1/N) Σ_i (∇ℓ_i − ∇L)(∇ℓ_i − ∇L)ᵀ`` (population normalisation, 1/N), and the
covariance of the mini-batch gradient ``g_B`` over batches of size ``b`` is ``c_b · C`` with

- ``c_b = 1/b`` for ``b`` i.i.d. indices (with replacement),
- ``c_b = (N − b) / (b (N − 1))`` for ``b`` distinct indices drawn uniformly (without
  replacement; exact, vanishes at ``b = N``).

The stochastic modified equation (Li, Tai & E) is the Itô SDE
``dθ = −∇L dt + (η Σ_b(θ))^{1/2} dW``, whose Fokker-Planck diffusion tensor is
``D(θ) = (η/2) Σ_b(θ)``. Overdamped Langevin at temperature ``T`` has ``D = T I``.
"""
import numpy as np

from . import checks as _v

__all__ = ["batch_noise_factor", "per_sample_covariance", "minibatch_covariance",
           "sme_diffusion"]


def batch_noise_factor(n_samples, batch_size, replace=False):
    """The factor ``c_b`` with ``Cov g_B = c_b · C``.

    Parameters
    ----------
    n_samples : int
        ``N``, the number of terms in the finite sum.
    batch_size : int
        ``b``, in ``[1, N]``.
    replace : bool
        ``True`` for i.i.d. indices, ``False`` for ``b`` distinct indices.

    Returns
    -------
    float
        ``1/b`` with replacement, ``(N − b) / (b (N − 1))`` without (0 for ``N = 1``).
    """
    n = _v.integer("n_samples", n_samples, low=1)
    b = _v.integer("batch_size", batch_size, low=1, high=n)
    if _v.boolean("replace", replace):
        return 1.0 / b
    return 0.0 if n == 1 else (n - b) / (b * (n - 1))


def per_sample_covariance(sample_grads):
    """``C = (1/N) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ`` from per-sample gradients of shape ``(N, dim)``.

    Parameters
    ----------
    sample_grads : array_like, shape (N, dim)
        Per-sample gradients ``g_i = ∇ℓ_i(θ)``, one per row.

    Returns
    -------
    ndarray, shape (dim, dim)
    """
    g = _v.finite_array("sample_grads", sample_grads, ndim=2)
    centred = g - g.mean(axis=0)
    return centred.T @ centred / g.shape[0]


def minibatch_covariance(sample_grads, batch_size, replace=False):
    """``Σ_b = Cov g_B = c_b · C`` from per-sample gradients of shape ``(N, dim)``.

    Parameters
    ----------
    sample_grads : array_like, shape (N, dim)
        Per-sample gradients ``g_i = ∇ℓ_i(θ)``, one per row.
    batch_size : int
        ``b``, in ``[1, N]``.
    replace : bool
        ``True`` for i.i.d. indices, ``False`` for ``b`` distinct indices.

    Returns
    -------
    ndarray, shape (dim, dim)
    """
    g = _v.finite_array("sample_grads", sample_grads, ndim=2)
    return batch_noise_factor(g.shape[0], batch_size, replace) * per_sample_covariance(g)


def sme_diffusion(model, theta, lr, batch_size, replace=False):
    """Itô diffusion tensor ``D(θ) = (η/2) Σ_b(θ)`` of the first-order SME at ``θ``.

    Parameters
    ----------
    model : landscape_sde.Model
    theta : array_like, shape (dim,)
    lr : float
        Learning rate ``η > 0``.
    batch_size : int
        ``b``, in ``[1, N]``.
    replace : bool
        ``True`` for i.i.d. indices, ``False`` for ``b`` distinct indices.

    Returns
    -------
    ndarray, shape (dim, dim)
    """
    lr = _v.positive("lr", lr)
    return 0.5 * lr * minibatch_covariance(model.sample_grads(theta), batch_size, replace)
