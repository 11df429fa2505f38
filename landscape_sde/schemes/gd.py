"""Full-batch gradient descent, optionally with heavy-ball momentum, and the two update rules
it shares with mini-batch SGD (:mod:`.sgd`)."""
import dataclasses
import typing

import numpy as np

from .._kernels.jit import jit
from .base import Method, Scheme, check_lr_momentum


class Params(typing.NamedTuple):
    lr: float
    momentum: float


class State(typing.NamedTuple):
    velocity: np.ndarray  # (n_replicas, dim) with momentum, (n_replicas, 0) without


@jit(inline="always")
def gradient_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``θ ← θ − η g``."""
    g = o.g
    for j in range(th.shape[0]):
        step = -p.lr * g[j]
        th[j] += step
    return s0, s1, s2, s3


@jit(inline="always")
def heavy_ball_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``v ← μ v − η g``, ``θ ← θ + v``."""
    v, g = st.velocity, o.g
    for j in range(th.shape[0]):
        v[r, j] = p.momentum * v[r, j] - p.lr * g[j]
        th[j] += v[r, j]
    return s0, s1, s2, s3


def gradient_method(scheme, model, **oracle):
    """The plain or heavy-ball :class:`Method` of a scheme with fields ``lr`` and
    ``momentum`` (the momentum-free update keeps no velocity)."""
    mom = scheme.momentum != 0.0
    return Method(heavy_ball_update if mom else gradient_update,
                  Params(scheme.lr, scheme.momentum),
                  State(velocity=(model.dim if mom else 0,)), **oracle)


@dataclasses.dataclass(frozen=True)
class GD(Scheme):
    """Gradient descent ``θ_{k+1} = θ_k − η ∇L(θ_k)``.

    With heavy-ball momentum ``μ``: ``v_{k+1} = μ v_k − η ∇L(θ_k)``, ``θ_{k+1} = θ_k + v_{k+1}``
    (``v_0 = 0``). As an integrator of gradient flow ``dθ/dt = −∇L`` (``t = kη``, ``μ = 0``) it
    is first order. Linearly stable at a minimum iff ``η λ_max < 2 + 2μ``.

    Parameters
    ----------
    lr : float
        Learning rate ``η > 0``.
    momentum : float
        ``μ`` in ``[0, 1)``.
    """

    lr: float
    momentum: float = 0.0
    order = {"weak": 1}
    noise = "none"

    def __post_init__(self):
        check_lr_momentum(self)

    @property
    def step(self):
        return self.lr

    def method(self, model):
        return gradient_method(self, model)
