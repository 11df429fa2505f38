"""Top Hessian eigenpairs of a model's loss from its compiled Hessian-vector products.

Two routes: ``dense`` (the full Hessian and ``numpy.linalg.eigh``, for small ``dim``) and
``lanczos`` (implicitly restarted Lanczos, :func:`scipy.sparse.linalg.eigsh`, on the model's
compiled exact HVPs; ``dim`` up to millions). Every result reports its residuals
``‖H v − λ v‖`` and how many HVPs it took. Used by the engine (``NSGD`` projects on the top
eigenvectors) and by :mod:`analysis.curvature`.
"""
import dataclasses

import numpy as np
import scipy.sparse.linalg as spla

from . import checks as _v
from .rng import as_seed_sequence

__all__ = ["Eigenpairs", "hessian_eigenpairs"]


@dataclasses.dataclass(frozen=True)
class Eigenpairs:
    """Top eigenpairs of the Hessian, largest first.

    Attributes
    ----------
    values : ndarray (k,)
    vectors : ndarray (dim, k)
        Unit eigenvectors (columns).
    residuals : ndarray (k,)
        ``‖H v − λ v‖`` for each pair.
    n_hvp : int
        Hessian-vector products used (``dim`` for the dense route).
    method : str
    """

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    n_hvp: int
    method: str

    @property
    def sharpness(self):
        return float(self.values[0])


def _hvp_operator(model, theta):
    kernel = model.compiled("hvp")
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    count = [0]

    def matvec(v):
        count[0] += 1
        out = np.empty(model.dim)
        kernel(theta, model.data, np.ascontiguousarray(np.ravel(v), dtype=np.float64), out)
        return out

    return spla.LinearOperator((model.dim, model.dim), matvec=matvec, dtype=np.float64), count


def hessian_eigenpairs(model, theta, k=1, method="auto", tol=1e-10, maxiter=None, rng=None):
    """Top-``k`` eigenpairs (largest algebraic) of ``∇²L(θ)``.

    Parameters
    ----------
    model : landscape_sde.Model
    theta : array_like (dim,)
    k : int
        Number of eigenpairs (``1 <= k < dim``).
    method : {"auto", "dense", "lanczos"}
        ``auto``: dense for ``dim <= 500``, Lanczos otherwise.
    tol : float
        Relative accuracy of the Lanczos eigenvalues (ARPACK's ``tol``).
    maxiter : int, optional
        Maximum number of Arnoldi update iterations (ARPACK's default when None).
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seed of the Lanczos start vector (reproducible results).

    Returns
    -------
    Eigenpairs
        ``values`` largest first, ``vectors`` as columns, residual norms, the number of
        Hessian-vector products and the method used.
    """
    _v.model(model)
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    k = _v.integer("k", k, low=1, high=max(1, model.dim - 1))
    tol = _v.real("tol", tol, low=0.0)
    if maxiter is not None:
        maxiter = _v.integer("maxiter", maxiter, low=1)
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"method: expected 'auto', 'dense' or 'lanczos', got {method!r}")
    if method == "dense" or (method == "auto" and model.dim <= 500):
        H = model.hessian(theta)
        w, V = np.linalg.eigh(0.5 * (H + H.T))
        w, V = w[::-1][:k], V[:, ::-1][:, :k]
        res = np.linalg.norm(H @ V - V * w, axis=0)
        return Eigenpairs(w, V, res, model.dim, "dense")
    op, count = _hvp_operator(model, theta)
    v0 = np.random.default_rng(as_seed_sequence(0 if rng is None else rng)).standard_normal(model.dim)
    w, V = spla.eigsh(op, k=k, which="LA", tol=tol, maxiter=maxiter, v0=v0)
    order = np.argsort(w)[::-1]
    w, V = w[order], V[:, order]
    n = count[0]
    res = np.array([np.linalg.norm(op.matvec(V[:, i]) - w[i] * V[:, i]) for i in range(k)])
    return Eigenpairs(w, V, res, n, "lanczos")
