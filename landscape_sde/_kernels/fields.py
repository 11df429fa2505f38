"""Template of compiled evaluations of a model at many points (see :mod:`.codegen`): losses,
per-sample gradient covariances and the model's own diffusion, for Fokker-Planck coefficients
and other grid quantities. Bound to a model's kernels like :mod:`.trajectory`."""
import numpy as np

from landscape_sde._kernels.jit import jit

# >>> bound by codegen
model_loss = model_grad = model_batch_grad = model_sample_grads = model_diffusion = None
# <<< bound by codegen


@jit
def no_diffusion(theta, data, out):
    """Stand-in ``diffusion`` kernel for models without their own noise: ``D = 0``."""
    for j in range(out.shape[0]):
        out[j] = 0.0


@jit
def no_output_grads(theta, data, idx, out):
    """Stand-in ``sample_output_grads`` of models without targets (never called: schemes
    that need it check the model first)."""
    out[:] = np.nan


@jit
def losses(data, points, out):
    """``out[m] = L(points[m])``."""
    for m in range(points.shape[0]):
        out[m] = model_loss(points[m], data)


@jit
def gradients(data, points, out):
    """``out[m] = ∇L(points[m])``."""
    for m in range(points.shape[0]):
        model_grad(points[m], data, out[m])


@jit
def sample_covariances(data, points, n_samples, out):
    """``out[m] = C(points[m]) = (1/N) Σ_i (∇ℓ_i − ∇L)(∇ℓ_i − ∇L)ᵀ``."""
    dim = points.shape[1]
    idx = np.arange(n_samples)
    gs = np.empty((n_samples, dim))
    mean = np.empty(dim)
    for m in range(points.shape[0]):
        model_sample_grads(points[m], data, idx, gs)
        for j in range(dim):
            acc = 0.0
            for i in range(n_samples):
                acc += gs[i, j]
            mean[j] = acc / n_samples
        for a in range(dim):
            for b in range(a, dim):
                acc = 0.0
                for i in range(n_samples):
                    acc += (gs[i, a] - mean[a]) * (gs[i, b] - mean[b])
                out[m, a, b] = acc / n_samples
                out[m, b, a] = out[m, a, b]


@jit
def diffusions(data, points, out):
    """``out[m] = diag D(points[m])``, the model's own diffusion."""
    for m in range(points.shape[0]):
        model_diffusion(points[m], data, out[m])
