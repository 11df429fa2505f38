"""Curvature of a loss: sharpness ``S = λ_max(∇²L)``, the top-k Hessian eigenpairs (from
:mod:`landscape_sde.hessian`: Lanczos on compiled HVPs, or dense), and the mini-batch
quantities of the edge of stochastic stability.
"""
import dataclasses

import numpy as np
import scipy.sparse.linalg as spla

from landscape_sde import _validation as _v
from landscape_sde.hessian import Eigenpairs, hessian_eigenpairs
from landscape_sde.rng import as_seed_sequence

__all__ = ["Eigenpairs", "Estimate", "sharpness", "hessian_eigenpairs", "step_sharpness",
           "minibatch_sharpness"]


def sharpness(model, theta, k=1, **kwargs):
    """``S = λ_max(∇²L(θ))`` (and, with ``k > 1``, the top-k eigenpairs): see
    :func:`hessian_eigenpairs`."""
    return hessian_eigenpairs(model, theta, k=k, **kwargs)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean over mini-batches with its standard error."""

    mean: float
    se: float
    n_batches: int


def step_sharpness(model, theta):
    """Full-batch step sharpness ``∇Lᵀ H ∇L / ‖∇L‖²``: the curvature along the GD step."""
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    g = np.empty(model.dim)
    model.compiled("grad")(theta, model.data, g)
    hg = np.empty(model.dim)
    model.compiled("hvp")(theta, model.data, g, hg)
    return float(g @ hg / (g @ g))


def _batch_top_eigenvalue(model, theta, idx, tol):
    kernel = model.compiled("batch_hvp")

    def matvec(v):
        out = np.empty(model.dim)
        kernel(theta, model.data, idx, np.ascontiguousarray(np.ravel(v)), out)
        return out

    if model.dim <= 200:  # dense: dim batch-HVPs, exact
        H = np.stack([matvec(e) for e in np.eye(model.dim)], axis=1)
        return float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    op = spla.LinearOperator((model.dim, model.dim), matvec=matvec, dtype=np.float64)
    v0 = np.ones(model.dim) / np.sqrt(model.dim)
    return float(spla.eigsh(op, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)[0])


def minibatch_sharpness(model, theta, batch_size, *, replace=False, rel_tol=0.01, min_batches=20,
                        max_batches=2000, tol=1e-8, rng=None):
    """Mini-batch curvature quantities (physics.md §6), each as an :class:`Estimate`:

    - ``minibs``: MiniBS ``E_B[λ_max(H_B)]`` (≥ S by convexity of λ_max);
    - ``batch_sharpness``: ``E_B[g_Bᵀ H_B g_B / ‖g_B‖²]``;
    - ``gni``: gradient-noise interaction ``E_B[g_Bᵀ H g_B] / ‖∇L‖²``.

    Batches are drawn as SGD draws them (``b`` distinct indices, or i.i.d. with
    ``replace=True``) until every relative standard error is below ``rel_tol`` (after at least
    ``min_batches``) or ``max_batches`` is reached. With ``b = N`` without replacement the
    batch is the full data set and all three equal their full-batch values (S, the step
    sharpness twice), with zero standard error.
    """
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    n = model.n_samples
    b = _v.integer("batch_size", batch_size, low=1, high=n)
    gen = np.random.default_rng(as_seed_sequence(rng))
    grad_b, hvp_b = model.compiled("batch_grad"), model.compiled("batch_hvp")
    hvp = model.compiled("hvp")
    g_full = np.empty(model.dim)
    model.compiled("grad")(theta, model.data, g_full)
    g2 = float(g_full @ g_full)
    samples = {"minibs": [], "batch_sharpness": [], "gni": []}
    gb, hgb, hg = (np.empty(model.dim) for _ in range(3))
    for k in range(max_batches):
        idx = (gen.integers(0, n, size=b) if replace else gen.choice(n, size=b, replace=False)).astype(np.int64)
        grad_b(theta, model.data, idx, gb)
        hvp_b(theta, model.data, idx, gb, hgb)
        hvp(theta, model.data, gb, hg)
        samples["minibs"].append(_batch_top_eigenvalue(model, theta, idx, tol))
        samples["batch_sharpness"].append(gb @ hgb / (gb @ gb))
        samples["gni"].append(gb @ hg / g2)
        if k + 1 >= min_batches:
            done = all(np.std(v, ddof=1) / np.sqrt(len(v)) <= rel_tol * abs(np.mean(v))
                       for v in samples.values())
            if done or (not replace and b == n):
                break
    return {name: Estimate(float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(len(v))), len(v))
            for name, v in samples.items()}
