"""A model's quantities evaluated at many points at once, by compiled loops: losses,
gradients, per-sample gradient covariances, and the diffusion tensor a scheme induces.
Used for Fokker-Planck coefficients and for maps of a landscape."""
import numpy as np

from . import checks as _v
from ._kernels.codegen import field_kernels

__all__ = ["losses", "gradients", "sample_covariances", "model_diffusions", "diffusion_of"]


def _points(model, points):
    _v.model(model)
    pts = _v.finite_array("points", points, ndim=2)
    if pts.shape[1] != model.dim:
        raise ValueError(f"points: expected shape (M, {model.dim}), got {pts.shape}")
    return pts


def losses(model, points):
    """``L`` at each row of ``points`` (shape ``(M, dim)``) -> ``(M,)``.

    Parameters
    ----------
    model : landscape_sde.Model
    points : array_like, shape (M, dim)
        One point ``θ`` per row (a single point of shape ``(dim,)`` is one row).

    Returns
    -------
    ndarray, shape (M,)
    """
    pts = _points(model, points)
    out = np.empty(pts.shape[0])
    field_kernels(model.kernels).losses(model.data, pts, out)
    return out


def gradients(model, points):
    """``∇L`` at each point -> ``(M, dim)``.

    Parameters
    ----------
    model : landscape_sde.Model
    points : array_like, shape (M, dim)
        One point ``θ`` per row (a single point of shape ``(dim,)`` is one row).

    Returns
    -------
    ndarray, shape (M, dim)
    """
    pts = _points(model, points)
    out = np.empty_like(pts)
    field_kernels(model.kernels).gradients(model.data, pts, out)
    return out


def sample_covariances(model, points):
    """Per-sample gradient covariance ``C(θ)`` (1/N normalisation) at each point ->
    ``(M, dim, dim)``.

    Parameters
    ----------
    model : landscape_sde.Model
    points : array_like, shape (M, dim)
        One point ``θ`` per row (a single point of shape ``(dim,)`` is one row).

    Returns
    -------
    ndarray, shape (M, dim, dim)
    """
    pts = _points(model, points)
    out = np.empty((pts.shape[0], model.dim, model.dim))
    field_kernels(model.kernels).sample_covariances(model.data, pts, model.n_samples, out)
    return out


def model_diffusions(model, points):
    """The model's own diagonal diffusion ``D(θ)`` at each point -> ``(M, dim)`` (zero for a
    model without one).

    Parameters
    ----------
    model : landscape_sde.Model
    points : array_like, shape (M, dim)
        One point ``θ`` per row (a single point of shape ``(dim,)`` is one row).

    Returns
    -------
    ndarray, shape (M, dim)
    """
    pts = _points(model, points)
    out = np.empty_like(pts)
    field_kernels(model.kernels).diffusions(model.data, pts, out)
    return out


def diffusion_of(model, scheme, points):
    """The Itô diffusion tensor ``D(θ)`` of ``scheme`` on ``model`` at each point, as
    ``(M, dim, dim)`` (full) or ``(M, dim)`` (diagonal) values: ``scheme.diffusion``, e.g.
    ``T I`` for Langevin, ``(η/2) c_b C(θ)`` for the SME, the model's own ``D(θ)`` for
    ``AnisotropicLangevin``. Discrete maps (GD, SGD, ...) raise ``TypeError``.

    Parameters
    ----------
    model : landscape_sde.Model
    scheme : landscape_sde.Scheme
        A continuous-time scheme (one with a ``diffusion`` method).
    points : array_like, shape (M, dim)

    Returns
    -------
    ndarray, shape (M, dim, dim) or (M, dim)
    """
    pts = _points(model, points)
    return _v.scheme(scheme).diffusion(model, pts)
