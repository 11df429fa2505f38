"""Template of the default mini-batch kernels of a potential (``N = 1``: every batch is the
full batch), bound to a model's ``grad`` and ``hvp`` by :mod:`.codegen` like the trajectory
driver, so a potential defines only ``loss``, ``grad`` and ``hvp``."""
from landscape_sde._kernels.jit import jit

# >>> bound by codegen
model_grad = model_hvp = None
# <<< bound by codegen


@jit
def batch_grad(theta, data, idx, out):
    """``(1/b) Σ_{i∈idx} ∇ℓ_i = ∇U``: every sample is the potential itself."""
    model_grad(theta, data, out)


@jit
def sample_grads(theta, data, idx, out):
    """``out[j] = ∇U`` for every requested index."""
    for i in range(idx.shape[0]):
        model_grad(theta, data, out[i])


@jit
def batch_hvp(theta, data, idx, v, out):
    """``∇²U v``."""
    model_hvp(theta, data, v, out)
