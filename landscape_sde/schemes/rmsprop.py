"""RMSProp (Tieleman & Hinton, 2012) in PyTorch's convention, full-batch or on mini-batches."""
import dataclasses
import math
import typing

import numpy as np

from .._kernels.jit import jit
from .adam import check_adaptive, minibatch_oracle
from .base import Method, Scheme


class Params(typing.NamedTuple):
    lr: float
    beta2: float
    eps: float


class State(typing.NamedTuple):
    square_avg: np.ndarray  # (n_replicas, dim): running mean of g²


@jit(inline="always")
def rmsprop_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``v ← β₂ v + (1 − β₂) g²``, ``θ ← θ − η g / (√v + ε)``, in PyTorch's order."""
    v, g = st.square_avg, o.g
    for j in range(th.shape[0]):
        v[r, j] = v[r, j] * p.beta2 + (1.0 - p.beta2) * g[j] * g[j]
        th[j] -= p.lr * g[j] / (math.sqrt(v[r, j]) + p.eps)
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class RMSProp(Scheme):
    """RMSProp with PyTorch's conventions (``torch.optim.RMSprop`` with ``alpha = β₂``, no
    momentum, not centred, no weight decay):

        v_k = β₂ v_{k−1} + (1 − β₂) g_k²,   θ_k = θ_{k−1} − η g_k / (√v_k + ε),

    ``v_0 = 0`` and no bias correction (so the first steps are large: ``√v_1 = √(1−β₂)|g_1|``).
    The running mean is observable as ``"square_avg"`` and the preconditioner
    ``P = diag(√v + ε)`` as ``"preconditioner"``; with ``P`` frozen RMSProp is gradient descent on ``P⁻¹H``, stable
    while ``λ_max(P⁻¹H) < 2/η``.

    Parameters
    ----------
    lr : float
        ``η > 0``.
    beta2 : float
        Decay rate of the running mean in ``[0, 1)`` (PyTorch's ``alpha``).
    eps : float
        ``ε > 0``, in units of the gradient.
    batch_size : int or None
        Mini-batch size; None for the full gradient.
    replace : bool
        Mini-batches with replacement (default: without).
    """

    lr: float
    beta2: float = 0.99
    eps: float = 1e-8
    batch_size: typing.Optional[int] = None
    replace: bool = False
    order = {"weak": 1}
    noise = "minibatch"

    def __post_init__(self):
        check_adaptive(self)

    @property
    def step(self):
        return self.lr

    def method(self, model):
        return Method(rmsprop_update, Params(self.lr, self.beta2, self.eps),
                      State(square_avg=(model.dim,)), **minibatch_oracle(self, model))

    def observables(self, model):
        return ("square_avg", "preconditioner")

    def observe(self, name, model, theta, state):
        """``"preconditioner"``: ``√v + ε`` per replica (``(n, dim)``); otherwise the state."""
        if name != "preconditioner":
            return super().observe(name, model, theta, state)
        return np.sqrt(state.square_avg) + self.eps
