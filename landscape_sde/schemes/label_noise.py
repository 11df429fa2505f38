"""Label-noise SGD: gradient descent on targets perturbed afresh at every step.

A separate scheme rather than an option of :class:`~landscape_sde.SGD`: its noise source is
the labels, not the sampling (it runs full-batch by default, where SGD has no noise), it needs
a different gradient oracle (the per-sample output gradients, so that the perturbation of
each label costs ``O(dim)`` and no per-sample gradient is formed twice), and it applies only
to models with targets. SGD's compiled loop is left untouched.
"""
import dataclasses
import typing

from .. import checks as _v
from .._kernels.jit import jit
from .._kernels.rng import normal
from .base import Method, Scheme, check_batch_size


class Params(typing.NamedTuple):
    lr: float
    scale: float  # σ / b: each label draw enters the batch mean with weight 1/b


class State(typing.NamedTuple):
    """Label-noise SGD carries nothing between steps."""


@jit(inline="always")
def label_noise_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``θ ← θ − η (g_B − (σ/b) Σ_{k∈B} ε_k ∇f_k)``: the batch gradient of
    ``½ (f_k − y_k − σ ε_k)²``, one fresh ``ε_k ~ N(0, 1)`` per sample of the batch, drawn in
    batch order."""
    gs, g = o.gs, o.g
    for j in range(th.shape[0]):
        th[j] -= p.lr * g[j]
    for i in range(gs.shape[0]):
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        z = p.lr * p.scale * e
        for j in range(th.shape[0]):
            th[j] += z * gs[i, j]
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class LabelNoiseSGD(Scheme):
    """Label-noise SGD (Blanc, Gupta, Valiant & Valiant 2020; Damian, Ma & Lee 2021):

    ``θ_{k+1} = θ_k − η (1/b) Σ_{i∈B_k} ∇_θ ½ (f(θ_k; x_i) − y_i − σ ε_{k,i})²``

    with fresh ``ε_{k,i} ~ N(0, 1)`` at every step from the replica's stream (not a fixed
    noisy data set), for models with a square loss and targets
    (:attr:`landscape_sde.Model.has_targets`). The update is
    ``θ ← θ − η g_B + (ησ/b) Σ_{i∈B} ε_i ∇f_i``: conditional on the batch, the label noise adds
    a mean-zero kick of covariance ``η² σ² / b · G_B``, ``G_B = (1/b) Σ_{i∈B} ∇f_i ∇f_iᵀ``,
    which equals the Hessian ``∇²L`` on a manifold of interpolating minima. Its leading-order
    effect there is a slow drift along the manifold that decreases ``tr ∇²L`` (see
    ``docs/label_noise.md``).

    Parameters
    ----------
    lr : float
        Learning rate ``η > 0``.
    sigma : float
        Label-noise standard deviation ``σ >= 0`` (in the units of the targets).
    batch_size : int, optional
        ``b``; ``None`` (default): the full batch, ``b = N``, and the label noise is the only
        noise. Otherwise ``b`` distinct indices (or i.i.d. with ``replace=True``) per step, as
        in :class:`~landscape_sde.SGD`.
    replace : bool
        Sample the mini-batch with replacement.
    """

    lr: float
    sigma: float
    batch_size: typing.Optional[int] = None
    replace: bool = False
    order = {"weak": 1}
    noise = "label"

    def __post_init__(self):
        object.__setattr__(self, "lr", _v.positive("lr", self.lr))
        object.__setattr__(self, "sigma", _v.real("sigma", self.sigma, low=0.0))
        if self.batch_size is not None:
            object.__setattr__(self, "batch_size", _v.integer("batch_size", self.batch_size, low=1))
        object.__setattr__(self, "replace", _v.boolean("replace", self.replace))

    @property
    def step(self):
        return self.lr

    def method(self, model):
        if not model.has_targets:
            raise ValueError(f"model: label-noise SGD needs a square-loss model with targets "
                             f"(a sample_output_grads kernel); {model.name} has none")
        b = model.n_samples if self.batch_size is None else self.batch_size
        check_batch_size(b, model)
        full = b == model.n_samples
        return Method(label_noise_update, Params(self.lr, self.sigma / b), State(),
                      gradient="outputs", batch_size=b,
                      sampling="replace" if (self.replace or full) else "without")
