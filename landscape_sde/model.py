"""The model protocol: a finite-sum loss ``L(θ) = (1/N) Σ_i ℓ_i(θ)`` with its data.

A model gives two views of the same mathematics:

1. NumPy reference methods (:meth:`Model.loss`, :meth:`Model.sample_losses`,
   :meth:`Model.grad`, :meth:`Model.sample_grads`, :meth:`Model.hessian`, :meth:`Model.hvp`): plain, readable, used by analyses and by
   tests as the ground truth.
2. Compiled kernels, module-level functions declared in :attr:`Model.kernels`
   (``KernelSpec.of(loss=..., grad=..., ...)``), each taking ``(theta, data, ...)`` where ``data`` is the tuple
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
                                                         ``KernelSpec.of(..., diffusion=f)``)
   ``sample_output_    ``(theta, data, idx, out)``       ``out[j] = ∇_θ f(θ; x_{idx[j]})``
   grads``                                               for a square loss
                                                         ``ℓ_i = ½ (f(θ; x_i) − y_i)²``
                                                         (optional: models with targets,
                                                         for label-noise SGD)
   ==================  ================================  =================================

   Kernels do no validation (that happens once, in Python, in the model's constructor) and
   never allocate on the hot path. The engine binds them into one compiled trajectory driver
   per model (:mod:`landscape_sde._kernels.trajectory`).

A potential ``U(θ)`` without data is the case ``N = 1``: every mini-batch is the full batch.
"""
import abc
import dataclasses
import importlib

import numpy as np

__all__ = ["KernelSpec", "Model", "Potential", "check_kernels"]

KERNEL_NAMES = ("loss", "grad", "batch_grad", "sample_grads", "hvp", "batch_hvp",
                "sample_output_grads")
DEFAULTED = ("batch_grad", "sample_grads", "batch_hvp")  # full-batch forms for potentials


@dataclasses.dataclass(frozen=True)
class KernelSpec:
    """Where a model's compiled kernels live.

    Declare them by function reference, ``KernelSpec.of(loss=f, grad=g, hvp=h, ...)``, or, for
    generated modules, by name: ``KernelSpec(module, prefix)`` finds ``{prefix}_{kernel}`` in
    ``module``. ``batch_grad``, ``sample_grads`` and ``batch_hvp`` may be left out for a
    potential (``N = 1``): the engine then uses the full-batch kernels for every batch
    (:mod:`landscape_sde._kernels.defaults`).

    Parameters
    ----------
    module : str
        Importable module that holds the kernels (the engine imports it by name, also in
        worker processes).
    prefix : str
        Name prefix: the kernel ``k`` is ``{prefix}_{k}`` in ``module``.
    diffusion : bool
        Whether the model also has a ``{prefix}_diffusion`` kernel (its own diagonal
        diffusion ``D(θ)``, used by :class:`landscape_sde.AnisotropicLangevin`).
    functions : tuple of (str, compiled function)
        ``((kernel, function), ...)`` when declared by reference (:meth:`of`); empty when
        found by name.
    """

    module: str
    prefix: str
    diffusion: bool = False
    functions: tuple = ()  # ((kernel, compiled function), ...) when declared by reference

    @classmethod
    def of(cls, *, loss, grad, hvp, batch_grad=None, sample_grads=None, batch_hvp=None,
           diffusion=None, sample_output_grads=None):
        """Kernels by reference (each a :func:`landscape_sde.jit` function defined at module
        level, so that the engine can import it)."""
        given = dict(loss=loss, grad=grad, hvp=hvp, batch_grad=batch_grad,
                     sample_grads=sample_grads, batch_hvp=batch_hvp, diffusion=diffusion,
                     sample_output_grads=sample_output_grads)
        functions = tuple((k, f) for k, f in given.items() if f is not None)
        for k, f in functions:
            if not hasattr(f, "py_func"):
                raise TypeError(f"{k}: expected a compiled kernel (decorated with "
                                f"landscape_sde.jit), got {f!r}")
        py = loss.py_func
        return cls(py.__module__, py.__name__.removesuffix("_loss"), diffusion is not None,
                   functions)

    def names(self):
        """Mapping kernel name -> ``(module, attribute)`` of every kernel the model defines."""
        if self.functions:
            return {k: (f.py_func.__module__, f.py_func.__name__) for k, f in self.functions}
        module = importlib.import_module(self.module)
        names = KERNEL_NAMES + (("diffusion",) if self.diffusion else ())
        return {k: (self.module, f"{self.prefix}_{k}") for k in names
                if hasattr(module, f"{self.prefix}_{k}")}

    def get(self, name):
        """The compiled kernel ``name`` (one of :data:`KERNEL_NAMES` or ``diffusion``)."""
        where = self.names().get(name)
        if where is not None:
            return getattr(importlib.import_module(where[0]), where[1])
        if name in DEFAULTED:
            from ._kernels.codegen import default_kernels
            return getattr(default_kernels(self), name)
        raise AttributeError(f"kernel: the model defines no {name!r} kernel")


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

    @property
    def has_targets(self):
        """Whether the model is a square loss ``ℓ_i = ½ (f(θ; x_i) − y_i)²`` with targets
        ``y_i`` and a compiled ``sample_output_grads`` kernel (what label-noise SGD needs)."""
        return "sample_output_grads" in self.kernels.names()

    def sample_output_grads(self, theta, idx=None):
        """Per-sample output gradients ``∇_θ f(θ; x_i)`` of a model with targets (see
        :attr:`has_targets`), shape ``(len(idx), dim)``: perturbing a target ``y_i`` by ``δ``
        changes ``∇ℓ_i`` by ``−δ ∇f_i``."""
        raise NotImplementedError(f"{self.name}: the model has no targets (no output gradients)")

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



def check_kernels(model, points=None, *, rtol=1e-10, fd_rtol=1e-6, rng=0):
    """Check a model's compiled kernels against its NumPy references, and the references
    against central finite differences, at a few points; raise ``AssertionError`` listing
    every mismatch.

    Compared: ``loss``, ``grad``, ``batch_grad``, ``sample_grads`` and (models with targets)
    ``sample_output_grads`` (on a random batch),
    ``hvp`` and ``batch_hvp`` (kernel against reference, ``rtol``; a batch HVP reference that
    is itself a central difference, the base-class default, is compared at ``1e-6``); the
    gradient against the mean of the per-sample gradients; gradient, Hessian and per-sample
    gradients against central differences of the loss, gradient and per-sample losses
    (step ``1e-5``, error ``O(h²)`` ≈ 1e-10 plus round-off ``O(ε/h)``, compared at ``fd_rtol``
    relative to the larger of the value and 1).

    Parameters
    ----------
    model : Model
    points : array_like of shape (k, dim), optional
        Where to check; default three standard normal points drawn with ``rng``.
    rtol, fd_rtol : float
        Tolerances of the kernel and the finite-difference comparisons.
    rng : None, int, SeedSequence or Generator
        Seed of the default points and of the random batches and vectors.

    Returns
    -------
    dict
        The largest scaled error of each comparison (all within tolerance).
    """
    from .rng import as_generator
    gen = as_generator(rng)
    pts = (gen.normal(size=(3, model.dim)) if points is None
           else np.atleast_2d(np.asarray(points, dtype=np.float64)))
    errors, data, h = {}, model.data, 1e-5

    def compare(name, got, want, tol):
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        err = float(np.max(np.abs(got - want) / (tol * np.maximum(1.0, np.abs(want)))))
        errors[name] = max(errors.get(name, 0.0), err * tol)
        if not err <= 1.0:  # NaN fails too
            failures.append(f"{name}: max scaled error {err * tol:.3g} > {tol:g}")

    failures = []
    eye = np.eye(model.dim)
    exact_batch_hvp = type(model).batch_hvp is not Model.batch_hvp
    for theta in pts:
        out = np.empty(model.dim)
        idx = gen.integers(0, model.n_samples, size=min(4, model.n_samples)).astype(np.int64)
        v = gen.normal(size=model.dim)
        rows = np.empty((idx.size, model.dim))
        compare("loss", model.compiled("loss")(theta, data), model.loss(theta), rtol)
        model.compiled("grad")(theta, data, out)
        compare("grad", out, model.grad(theta), rtol)
        model.compiled("batch_grad")(theta, data, idx, out)
        compare("batch_grad", out, model.sample_grads(theta, idx).mean(axis=0), rtol)
        model.compiled("sample_grads")(theta, data, idx, rows)
        compare("sample_grads", rows, model.sample_grads(theta, idx), rtol)
        model.compiled("hvp")(theta, data, v, out)
        compare("hvp", out, model.hessian(theta) @ v, rtol)
        model.compiled("batch_hvp")(theta, data, idx, v, out)
        compare("batch_hvp", out, model.batch_hvp(theta, idx, v), rtol if exact_batch_hvp else 1e-6)
        if model.has_targets:
            model.compiled("sample_output_grads")(theta, data, idx, rows)
            compare("sample_output_grads", rows, model.sample_output_grads(theta, idx), rtol)
        compare("grad = mean of sample_grads", model.grad(theta),
                model.sample_grads(theta).mean(axis=0), rtol)
        compare("loss = mean of sample_losses", model.loss(theta),
                np.mean(model.sample_losses(theta)), rtol)
        fd = lambda f: np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in eye])  # noqa: E731
        compare("grad vs finite differences", model.grad(theta), fd(model.loss), fd_rtol)
        compare("hessian vs finite differences", model.hessian(theta), fd(model.grad), fd_rtol)
        compare("sample_grads vs finite differences", model.sample_grads(theta),
                fd(model.sample_losses).T, fd_rtol)
    if failures:
        raise AssertionError(f"{model.name}: compiled kernels or references disagree:\n  "
                             + "\n  ".join(failures))
    return errors
