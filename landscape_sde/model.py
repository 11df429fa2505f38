"""The model protocol: a finite-sum loss ``L(θ) = (1/N) Σ_i ℓ_i(θ)`` with its data.

A model gives two views of the same mathematics:

1. NumPy reference methods (:meth:`Model.loss`, :meth:`Model.sample_losses`,
   :meth:`Model.grad`, :meth:`Model.sample_grads`, :meth:`Model.hessian`, :meth:`Model.hvp`): plain, readable, used by analyses and by
   tests as the ground truth.
2. Compiled kernels, module-level functions named ``{prefix}_{kernel}`` in the module that
   :attr:`Model.kernels` names, each taking ``(theta, data, ...)`` where ``data`` is the tuple
   :attr:`Model.data`, and writing into a caller-allocated ``out``:

   ==================  ================================  =================================
   kernel              signature                         result
   ==================  ================================  =================================
   ``loss``            ``(theta, data) -> float``        ``L(θ)``
   ``grad``            ``(theta, data, out)``            ``∇L(θ)``
   ``batch_grad``      ``(theta, data, idx, out)``       ``(1/b) Σ_{i∈idx} ∇ℓ_i(θ)``
   ``sample_grads``    ``(theta, data, idx, out)``       ``out[j] = ∇ℓ_{idx[j]}(θ)``
   ``hvp``             ``(theta, data, v, out)``         ``∇²L(θ) v``
   ``batch_hvp``       ``(theta, data, idx, v, out)``    ``∇²L_B(θ) v``, ``L_B`` the mean
                                                         of ``ℓ_i`` over ``idx``
   ``diffusion``       ``(theta, data, out)``            diagonal of the model's own
                                                         Itô diffusion ``D(θ)`` (optional,
                                                         ``KernelSpec(..., diffusion=True)``)
   ==================  ================================  =================================

   Kernels do no validation (that happens once, in Python, in the model's constructor) and
   never allocate on the hot path. The engine binds them into one compiled trajectory driver
   per model (:mod:`landscape_sde._kernels.driver`).

A potential ``U(θ)`` without data is the case ``N = 1``: every mini-batch is the full batch.
"""
import abc
import dataclasses
import importlib

import numpy as np

__all__ = ["KernelSpec", "Model", "Potential", "check_kernels"]

KERNEL_NAMES = ("loss", "grad", "batch_grad", "sample_grads", "hvp", "batch_hvp")


@dataclasses.dataclass(frozen=True)
class KernelSpec:
    """Where a model's compiled kernels live: ``{module}.{prefix}_{name}`` for each name."""

    module: str
    prefix: str
    diffusion: bool = False

    def names(self):
        """Mapping kernel name -> attribute name in :attr:`module`."""
        names = KERNEL_NAMES + (("diffusion",) if self.diffusion else ())
        return {k: f"{self.prefix}_{k}" for k in names}

    def get(self, name):
        """The compiled kernel ``name`` (one of ``loss, grad, batch_grad, sample_grads, hvp``)."""
        return getattr(importlib.import_module(self.module), self.names()[name])


class Model(abc.ABC):
    """Base class of every model: a finite-sum loss and its compiled kernels.

    Subclasses set :attr:`kernels`, :attr:`dim`, :attr:`n_samples` and :attr:`data`, and
    implement the NumPy reference methods. ``θ`` is a float64 vector of length :attr:`dim`;
    losses are in the units of the data (MSE: half squared residual).
    """

    kernels: KernelSpec
    dim: int
    n_samples: int
    data: tuple

    # --- NumPy references ---------------------------------------------------------------
    @abc.abstractmethod
    def loss(self, theta):
        """Full-batch loss ``L(θ)``."""

    @abc.abstractmethod
    def sample_losses(self, theta, idx=None):
        """Per-sample losses ``ℓ_i(θ)`` for ``i`` in ``idx`` (all samples if None)."""

    @abc.abstractmethod
    def sample_grads(self, theta, idx=None):
        """Per-sample gradients ``∇ℓ_i(θ)`` for ``i`` in ``idx`` (all samples if None),
        shape ``(len(idx), dim)``."""

    @abc.abstractmethod
    def hessian(self, theta):
        """Full-batch Hessian ``∇²L(θ)``, shape ``(dim, dim)``."""

    def grad(self, theta):
        """Full-batch gradient ``∇L(θ)`` (mean of the per-sample gradients)."""
        return self.sample_grads(theta).mean(axis=0)

    def hvp(self, theta, v):
        """Hessian-vector product ``∇²L(θ) v``."""
        return self.hessian(theta) @ np.asarray(v, dtype=np.float64)

    def batch_hvp(self, theta, idx, v):
        """``∇²L_B(θ) v`` for the mini-batch loss ``L_B = (1/b) Σ_{i∈idx} ℓ_i``, by central
        differences of the per-sample gradients' mean (a reference for tests; models override
        it with an exact form where they have one)."""
        v = np.asarray(v, dtype=np.float64)
        eps = 1e-6 / max(1.0, float(np.linalg.norm(v)))
        theta = np.asarray(theta, dtype=np.float64)
        g = lambda t: self.sample_grads(t, idx).mean(axis=0)  # noqa: E731
        return (g(theta + eps * v) - g(theta - eps * v)) / (2 * eps)

    def diffusion(self, theta):
        """The model's own diagonal Itô diffusion ``D(θ)`` (models that define their noise,
        integrated by ``AnisotropicLangevin``), or ``None``."""
        return None

    # --- description --------------------------------------------------------------------
    @property
    def name(self):
        return type(self).__name__

    def params(self):
        """JSON-serialisable description of the model (stored in ``Ensemble.meta``)."""
        return {}

    def compiled(self, name):
        """The compiled kernel ``name``; call it as ``kernel(theta, model.data, ..., out)``."""
        return self.kernels.get(name)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.name}(dim={self.dim}, n_samples={self.n_samples}{', ' if args else ''}{args})"


class Potential(Model):
    """A model without data: ``L(θ) = U(θ)``, the finite sum with ``N = 1``.

    Subclasses implement :meth:`loss`, :meth:`grad` and :meth:`hessian`; every mini-batch is
    the full batch, so SGD reduces to GD and the SME's noise vanishes. Their ``batch_grad`` and
    ``sample_grads`` kernels return the full gradient (one row per requested index).
    """

    n_samples = 1

    @abc.abstractmethod
    def grad(self, theta):
        """``∇U(θ)``."""

    def sample_losses(self, theta, idx=None):
        return np.full(1 if idx is None else len(idx), self.loss(theta))

    def sample_grads(self, theta, idx=None):
        return np.tile(self.grad(theta), (1 if idx is None else len(idx), 1))

    def batch_hvp(self, theta, idx, v):
        return self.hvp(theta, v)


def check_kernels(model, points=None):
    """Placeholder replaced below."""
