"""The scheme contract: a scheme is a file holding its class and its compiled update.

A scheme is a small immutable dataclass holding its parameters, validated on construction.
For implementers, a new scheme ``schemes/<name>.py`` must

1. validate its fields in ``__post_init__`` with :mod:`landscape_sde.checks` (errors name
   the argument, the value and what is allowed);
2. declare ``order`` (orders of accuracy as an integrator of its continuous-time limit:
   ``"weak"``, the error of expectations on a finite horizon; ``"stationary"``, the bias of
   stationary averages; ``"strong"`` where it matters), ``noise`` (one of :data:`NOISE_KINDS`)
   and the property ``step`` (the time step per iteration in SDE time, ``t = k · step``);
3. write its update as a module-level compiled function (``landscape_sde.jit(inline="always")``:
   inlined into the loop, where a call that returns the generator words costs more than a
   step of a small model) with the
   signature ``update(k, stage, theta, oracle, state, r, params, s0, s1, s2, s3) ->
   (s0, s1, s2, s3)``: at step ``k`` (1-based) and stage ``stage`` it reads the oracle
   (:class:`landscape_sde._kernels.layout.Oracle`: ``g``, ``gs``, ``dd``, work vector ``x``),
   updates ``theta`` and row ``r`` of its ``state`` in place, and draws normals or integers
   from the replica's generator words with :func:`landscape_sde.kernels.normal` /
   ``below``, returning the new words. It never allocates and never validates;
4. implement :meth:`Scheme.method`, which checks the scheme against a model (raising
   ``ValueError`` naming the argument) and returns a :class:`Method`: the update, its
   runtime ``params`` (a NamedTuple of scalars), its per-replica ``state`` (a NamedTuple
   whose fields are the shapes of one replica's arrays, allocated as zeros), the gradient
   oracle it asks for, and optionally an ``init`` that draws random initial state.

Optional hooks, with defaults here: :meth:`Scheme.segment_ends` and
:meth:`Scheme.prepare_segment` (work between compiled segments, such as Nudged SGD's
eigenvector refresh), :meth:`Scheme.diffusion` (the Itô diffusion tensor of an SDE scheme,
used by :mod:`landscape_sde.fields` and the Fokker-Planck solver) and :meth:`Scheme.observe`
(what an observer asking for a named state receives).
"""
import abc
import dataclasses
import typing

import numpy as np

from .. import checks as _v
from .._kernels.jit import jit
from .._kernels.layout import GRADIENTS, SAMPLERS

NOISE_KINDS = ("none", "minibatch", "isotropic", "sme", "model", "thermostat", "label")


class NoState(typing.NamedTuple):
    """The state of a scheme that carries nothing between steps."""


class NoParams(typing.NamedTuple):
    """The parameters of a scheme that has none at run time."""


@jit(cache=False)
def no_init(theta, state, r, params, s0, s1, s2, s3):
    """``init`` of a scheme whose state starts at zero: draws nothing.

    Parameters
    ----------
    theta, state, r, params
        The replica's parameters, state, index and the scheme's parameters (unused).
    s0, s1, s2, s3 : uint64
        The replica's generator state.

    Returns
    -------
    tuple of uint64
        ``(s0, s1, s2, s3)`` unchanged.

    Not disk-cached: it is compiled for every scheme's state and parameter types, and
    numba's cache index of a shared function would record the types of schemes defined in
    modules other processes cannot import. (The generated loop that calls it is cached.)"""
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class Method:
    """What the compiled loop runs for a scheme on a model.

    Attributes
    ----------
    update : compiled function
        The update rule (signature in the module docstring), module-level and importable.
    params : NamedTuple
        Runtime scalars read by ``update`` (changing them never recompiles).
    state : NamedTuple
        The per-replica state, each field the shape ``()`` or ``(n, ...)`` of one replica's
        float64 array (allocated as zeros of shape ``(n_replicas, *shape)``).
    gradient : {"full", "batch", "samples", "outputs"}
        The oracle: ``∇L``; ``(1/b) Σ_{i∈B} ∇ℓ_i`` with a batch drawn once per step; every
        ``∇ℓ_i`` in ``oracle.gs`` with their mean in ``oracle.g``; or the batch gradient in
        ``oracle.g`` and the batch's output gradients ``∇f_i`` in ``oracle.gs`` (models with
        targets, ``Model.sample_output_grads``; no batch is drawn when
        ``batch_size = N``, and ``sampling`` must then be ``"replace"``).
    batch_size : int
        ``b`` for the batch and outputs oracles.
    sampling : {"replace", "without", "shuffle"}
        How batches are drawn (see :class:`landscape_sde.SGD`).
    stages : int
        Oracle evaluations per step: stage 0 at ``θ``, later stages at ``oracle.x``.
    diffusion : bool
        Whether the oracle also evaluates the model's diagonal diffusion into ``oracle.dd``.
    init : compiled function
        ``init(theta, state, r, params, s0, s1, s2, s3) -> (s0, s1, s2, s3)``, run once per
        replica at the start of a run, after the zero allocation (e.g. to draw a first noise).
    """

    update: object
    params: tuple = NoParams()
    state: tuple = NoState()
    gradient: str = "full"
    batch_size: int = 0
    sampling: str = "replace"
    stages: int = 1
    diffusion: bool = False
    init: object = no_init

    def __post_init__(self):
        if self.gradient not in GRADIENTS:
            raise ValueError(f"gradient: expected one of {sorted(GRADIENTS)}, got {self.gradient!r}")
        if self.sampling not in SAMPLERS:
            raise ValueError(f"sampling: expected one of {sorted(SAMPLERS)}, got {self.sampling!r}")
        for field in ("params", "state"):
            if not (isinstance(getattr(self, field), tuple) and hasattr(getattr(self, field), "_fields")):
                raise TypeError(f"{field}: expected a NamedTuple, got {getattr(self, field)!r}")
        _v.integer("stages", self.stages, low=1)

    @property
    def permutes(self):
        """Whether the loop keeps a permutation of the samples (batches without replacement)."""
        return self.gradient in ("batch", "outputs") and self.sampling != "replace"

    def allocate(self, n_replicas):
        """The state record with zero arrays of shape ``(n_replicas, *shape)`` per field."""
        return type(self.state)(*(np.zeros((n_replicas, *shape)) for shape in self.state))


@dataclasses.dataclass(frozen=True)
class Scheme(abc.ABC):
    """Base class of every integrator (see the module docstring for the contract)."""

    # The declared orders: a class attribute, not annotated as a ClassVar, so that a scheme
    # may also take ``order`` as a constructor field (SME) after its other fields.
    order = {}
    noise: typing.ClassVar[str] = "none"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.noise not in NOISE_KINDS:
            raise TypeError(f"{cls.__name__}.noise: expected one of {NOISE_KINDS}, got {cls.noise!r}")

    @property
    @abc.abstractmethod
    def step(self):
        """Time step per iteration in SDE time (``lr`` or ``dt``)."""

    @abc.abstractmethod
    def method(self, model):
        """Check the scheme against ``model`` and return its :class:`Method`."""

    @property
    def name(self):
        return type(self).__name__

    def params(self):
        """Parameters as a JSON-serialisable dict (stored in ``Ensemble.meta``)."""
        return dataclasses.asdict(self)

    # --- hooks ---------------------------------------------------------------------------
    def segment_ends(self, n_steps):
        """Steps in ``(0, n_steps)`` at which the run must return to Python (to
        :meth:`prepare_segment`); none by default."""
        return ()

    def prepare_segment(self, model, theta, alive, state, k0):
        """Called before the compiled segment that starts at step ``k0`` with the replicas'
        parameters ``theta (n, dim)``, the mask of live replicas and the state record
        (arrays to fill in place). Nothing by default."""

    def drift_potential(self, model, points):
        """The potential ``U`` at each row of ``points`` (``(M,)``) whose drift ``−∇U`` the
        scheme's continuous limit follows: the loss by default (used by
        :class:`landscape_sde.fokker_planck.FokkerPlanck`'s ``from_model``)."""
        from ..fields import losses
        return losses(model, points)

    def diffusion(self, model, points):
        """The Itô diffusion tensor ``D(θ)`` at each row of ``points``, as ``(M, dim, dim)``
        (full) or ``(M, dim)`` (diagonal) values: the generator of the scheme's continuous
        limit is ``−∇L·∇ + D : ∇∇``. Discrete maps have none and raise ``TypeError``."""
        raise TypeError(f"scheme: {self.name} is a discrete map without a diffusion tensor; "
                        "expected an SDE scheme (Langevin, LeimkuhlerMatthews, SME, "
                        "AnisotropicLangevin)")

    def observe(self, name, model, theta, state):
        """The state ``name`` that an observer ``(every, function, name)`` receives for the
        replicas' parameters ``theta (n, dim)``: by default the state field of that name.
        Raises ``ValueError`` when the scheme does not carry it (see :meth:`observables`)."""
        if name not in self.observables(model):
            raise ValueError(f"observe: {self.name} carries no state {name!r} here; "
                             f"it carries {sorted(self.observables(model)) or 'none'}")
        return getattr(state, name)

    def observables(self, model):
        """Names of the per-replica state observers may ask for (non-empty fields)."""
        state = self.method(model).state
        return tuple(f for f, shape in zip(state._fields, state) if int(np.prod(shape)) > 0)


def check_batch_size(batch_size, model):
    if model.n_samples >= 2**32:  # the compiled bounded-integer draw works below 2^32
        raise ValueError(f"model: n_samples must be < 2^32 for mini-batch sampling, got "
                         f"{model.n_samples}")
    if batch_size > model.n_samples:
        raise ValueError(f"batch_size: must be <= the model's n_samples = {model.n_samples}, "
                         f"got {batch_size}")


def check_lr_momentum(scheme):
    """Validate (and normalise) the ``lr`` and heavy-ball ``momentum`` fields of a scheme."""
    object.__setattr__(scheme, "lr", _v.positive("lr", scheme.lr))
    object.__setattr__(scheme, "momentum", _v.real("momentum", scheme.momentum, low=0.0,
                                                    high=1.0, high_open=True))
