"""A model's quantities evaluated at many points at once, by compiled loops: losses,
gradients, per-sample gradient covariances, and the diffusion tensor a scheme induces.
Used for Fokker-Planck coefficients and for maps of a landscape."""
import numpy as np

from . import _validation as _v
from ._kernels.codegen import field_kernels
from .noise import batch_noise_factor

__all__ = ["losses", "gradients", "sample_covariances", "diffusion_of"]


def _points(model, points):
    pts = _v.finite_array("points", points, ndim=2)
    if pts.shape[1] != model.dim:
        raise ValueError(f"points: expected shape (M, {model.dim}), got {pts.shape}")
    return pts


def losses(model, points):
    """``L`` at each row of ``points`` (shape ``(M, dim)``) -> ``(M,)``."""
    pts = _points(model, points)
    out = np.empty(pts.shape[0])
    field_kernels(model.kernels).losses(model.data, pts, out)
    return out


def gradients(model, points):
    """``∇L`` at each point -> ``(M, dim)``."""
    pts = _points(model, points)
    out = np.empty_like(pts)
    field_kernels(model.kernels).gradients(model.data, pts, out)
    return out


def sample_covariances(model, points):
    """Per-sample gradient covariance ``C(θ)`` (1/N normalisation) at each point ->
    ``(M, dim, dim)``."""
    pts = _points(model, points)
    out = np.empty((pts.shape[0], model.dim, model.dim))
    field_kernels(model.kernels).sample_covariances(model.data, pts, model.n_samples, out)
    return out


def diffusion_of(model, scheme, points):
    """The Itô diffusion tensor ``D(θ)`` of ``scheme`` on ``model`` at each point, as
    ``(M, dim, dim)`` (full) or ``(M, dim)`` (diagonal) values.

    ``Langevin``/``LeimkuhlerMatthews``: ``T I``; ``SME``: ``(η/2) c_b C(θ)``;
    ``AnisotropicLangevin``: the model's own diagonal ``D(θ)``. Other schemes are discrete
    maps without a diffusion tensor and raise ``TypeError``.
    """
    from .schemes import SME, AnisotropicLangevin, Langevin
    pts = _points(model, points)
    if isinstance(scheme, Langevin):
        return np.full((pts.shape[0], model.dim), scheme.temperature)
    if isinstance(scheme, SME):
        c_b = batch_noise_factor(model.n_samples, scheme.batch_size, scheme.replace)
        return 0.5 * scheme.lr * c_b * sample_covariances(model, pts)
    if isinstance(scheme, AnisotropicLangevin):
        out = np.empty_like(pts)
        field_kernels(model.kernels).diffusions(model.data, pts, out)
        return out
    raise TypeError(f"scheme: {scheme.name} is a discrete map without a diffusion tensor; "
                    "expected Langevin, LeimkuhlerMatthews, SME or AnisotropicLangevin")
