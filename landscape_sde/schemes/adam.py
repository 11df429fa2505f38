"""Adam (Kingma & Ba, 2015) in PyTorch's convention, full-batch or on mini-batches."""
import dataclasses
import math
import typing

import numpy as np

from .. import checks as _v
from .._kernels.jit import jit
from .base import Method, Scheme, check_batch_size


class Params(typing.NamedTuple):
    lr: float
    beta1: float
    beta2: float
    eps: float
    bias_correction: bool


class State(typing.NamedTuple):
    exp_avg: np.ndarray     # (n_replicas, dim): first moment m
    exp_avg_sq: np.ndarray  # (n_replicas, dim): second moment v
    steps: np.ndarray       # (n_replicas,): steps taken, for the bias correction of observers


@jit(inline="always")
def adam_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``m ← m + (1 − β₁)(g − m)``, ``v ← β₂ v + (1 − β₂) g²``,
    ``θ ← θ − (η / c₁) m / (√v / √c₂ + ε)``, ``c_i = 1 − β_i^k`` (1 without bias correction),
    in PyTorch's order of operations."""
    m, v, g = st.exp_avg, st.exp_avg_sq, o.g
    if p.bias_correction:
        step_size = p.lr / (1.0 - p.beta1 ** k)
        c2_sqrt = math.sqrt(1.0 - p.beta2 ** k)
    else:
        step_size, c2_sqrt = p.lr, 1.0
    for j in range(th.shape[0]):
        m[r, j] += (1.0 - p.beta1) * (g[j] - m[r, j])
        v[r, j] = v[r, j] * p.beta2 + (1.0 - p.beta2) * g[j] * g[j]
        th[j] -= step_size * m[r, j] / (math.sqrt(v[r, j]) / c2_sqrt + p.eps)
    st.steps[r] = k
    return s0, s1, s2, s3


def check_beta(name, value):
    return _v.real(name, value, low=0.0, high=1.0, high_open=True)


def minibatch_oracle(scheme, model):
    """The oracle of a scheme with an optional ``batch_size`` (None: the full gradient)."""
    if scheme.batch_size is None:
        return {"gradient": "full"}
    check_batch_size(scheme.batch_size, model)
    return {"gradient": "batch", "batch_size": scheme.batch_size,
            "sampling": "replace" if scheme.replace else "without"}


def check_adaptive(scheme):
    """Validate the fields shared by Adam and RMSProp (``lr``, ``beta2``, ``eps``,
    ``batch_size``, ``replace``)."""
    object.__setattr__(scheme, "lr", _v.positive("lr", scheme.lr))
    object.__setattr__(scheme, "beta2", check_beta("beta2", scheme.beta2))
    object.__setattr__(scheme, "eps", _v.positive("eps", scheme.eps))
    if scheme.batch_size is not None:
        object.__setattr__(scheme, "batch_size", _v.integer("batch_size", scheme.batch_size, low=1))
    object.__setattr__(scheme, "replace", _v.boolean("replace", scheme.replace))


@dataclasses.dataclass(frozen=True)
class Adam(Scheme):
    """Adam with PyTorch's conventions (``torch.optim.Adam``, no weight decay, no AMSGrad):

        m_k = β₁ m_{k−1} + (1 − β₁) g_k,      v_k = β₂ v_{k−1} + (1 − β₂) g_k²,
        θ_k = θ_{k−1} − η m̂_k / (√v̂_k + ε),  m̂_k = m_k / (1 − β₁^k), v̂_k = v_k / (1 − β₂^k),

    with ``m_0 = v_0 = 0``, ``k = 1, 2, …`` the step, ``ε`` added to ``√v̂`` (not inside the
    root) and the squares taken per coordinate. ``g_k`` is the full gradient when
    ``batch_size`` is None, else a fresh mini-batch gradient (as in :class:`SGD`).

    The per-replica moments are observable as ``"exp_avg"`` and ``"exp_avg_sq"``, and Adam's
    diagonal preconditioner ``P = diag(√v̂ + ε)`` as ``"preconditioner"`` (the diagonal, one
    row per replica; for :func:`analysis.curvature.preconditioned_sharpness`). With ``P`` frozen, Adam is heavy-ball momentum ``β₁`` with step
    ``η (1 − β₁)`` on ``P⁻¹ H``, stable on a quadratic while
    ``λ_max(P⁻¹H) < (2 + 2β₁) / ((1 − β₁) η)`` (38/η at β₁ = 0.9; see
    :func:`analysis.derivations.adam_frozen_threshold`).

    Parameters
    ----------
    lr : float
        ``η > 0``.
    beta1, beta2 : float
        Moment decay rates in ``[0, 1)``.
    eps : float
        ``ε > 0``, in units of the gradient.
    batch_size : int or None
        Mini-batch size ``b`` (``1 <= b <= N``); None for the full gradient.
    replace : bool
        Mini-batches with replacement (default: without, as :class:`SGD`).
    bias_correction : bool
        Divide the moments by ``1 − β^k`` (PyTorch always does).
    """

    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    batch_size: typing.Optional[int] = None
    replace: bool = False
    bias_correction: bool = True
    order = {"weak": 1}
    noise = "minibatch"

    def __post_init__(self):
        check_adaptive(self)
        object.__setattr__(self, "beta1", check_beta("beta1", self.beta1))
        object.__setattr__(self, "bias_correction", _v.boolean("bias_correction", self.bias_correction))

    @property
    def step(self):
        return self.lr

    def method(self, model):
        return Method(adam_update,
                      Params(self.lr, self.beta1, self.beta2, self.eps, self.bias_correction),
                      State(exp_avg=(model.dim,), exp_avg_sq=(model.dim,), steps=()),
                      **minibatch_oracle(self, model))

    def observables(self, model):
        return ("exp_avg", "exp_avg_sq", "preconditioner")

    def observe(self, name, model, theta, state):
        """``"preconditioner"``: ``√v̂ + ε`` per replica (``(n, dim)``; ``ε`` before the first
        step); otherwise the state field."""
        if name != "preconditioner":
            return super().observe(name, model, theta, state)
        k = np.maximum(state.steps, 1.0)[:, None]
        c2 = 1.0 - self.beta2 ** k if self.bias_correction else 1.0
        return np.sqrt(state.exp_avg_sq / c2) + self.eps
