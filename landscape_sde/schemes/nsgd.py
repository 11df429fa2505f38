"""Nudged SGD (Jastrzębski et al., ICLR 2019): a reduced step along the sharpest directions."""
import dataclasses
import typing

import numpy as np

from .. import checks as _v
from .._kernels.jit import jit
from .base import Method, Scheme, check_batch_size, check_lr_momentum
from .gd import gradient_update, heavy_ball_update


class Params(typing.NamedTuple):
    lr: float
    momentum: float
    nudge: float  # 1 − γ


class State(typing.NamedTuple):
    velocity: np.ndarray  # (n_replicas, dim) with momentum, (n_replicas, 0) without
    eigenvectors: np.ndarray  # (n_replicas, k, dim): E, frozen between refreshes


@jit
def _nudge(o, st, r, p):
    """``g ← g − (1 − γ) E Eᵀ g`` with replica ``r``'s frozen ``E``."""
    E, g = st.eigenvectors, o.g
    for q in range(E.shape[1]):
        c = 0.0
        for j in range(g.shape[0]):
            c += E[r, q, j] * g[j]
        for j in range(g.shape[0]):
            g[j] -= p.nudge * c * E[r, q, j]


@jit(inline="always")
def nudged_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    _nudge(o, st, r, p)
    return gradient_update(k, stage, th, o, st, r, p, s0, s1, s2, s3)


@jit(inline="always")
def nudged_heavy_ball_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    _nudge(o, st, r, p)
    return heavy_ball_update(k, stage, th, o, st, r, p, s0, s1, s2, s3)


@dataclasses.dataclass(frozen=True)
class NSGD(Scheme):
    """``θ ← θ − η [(I − E Eᵀ) g_B + γ E Eᵀ g_B]`` (with optional heavy-ball momentum on the
    nudged gradient), ``E`` the top-``k`` Hessian eigenvectors of the full loss at the current
    point, recomputed every ``refresh_every`` steps (Lanczos on compiled HVPs) and frozen in
    between, as in the paper (once per epoch there). ``γ = 1`` is SGD, to the bit; ``γ < 1``
    damps the sharpest directions, so larger learning rates stay stable along them.

    Parameters
    ----------
    lr, batch_size, replace, momentum : as in :class:`SGD`
    k : int
        Number of top eigenvectors (``1 <= k < dim``).
    gamma : float
        Step factor along them, ``γ >= 0``.
    refresh_every : int
        Steps between recomputations of ``E`` (``>= 1``).
    """

    lr: float
    batch_size: int
    k: int = 1
    gamma: float = 0.1
    refresh_every: int = 100
    replace: bool = False
    momentum: float = 0.0
    order = {"weak": 1}
    noise = "minibatch"

    def __post_init__(self):
        check_lr_momentum(self)
        object.__setattr__(self, "batch_size", _v.integer("batch_size", self.batch_size, low=1))
        object.__setattr__(self, "k", _v.integer("k", self.k, low=1))
        object.__setattr__(self, "gamma", _v.real("gamma", self.gamma, low=0.0))
        object.__setattr__(self, "refresh_every", _v.integer("refresh_every", self.refresh_every, low=1))
        object.__setattr__(self, "replace", _v.boolean("replace", self.replace))

    @property
    def step(self):
        return self.lr

    def method(self, model):
        check_batch_size(self.batch_size, model)
        if self.k >= model.dim:
            raise ValueError(f"k: must be < the model's dim = {model.dim}, got {self.k}")
        mom = self.momentum != 0.0
        return Method(nudged_heavy_ball_update if mom else nudged_update,
                      Params(self.lr, self.momentum, 1.0 - self.gamma),
                      State(velocity=(model.dim if mom else 0,),
                            eigenvectors=(self.k, model.dim)),
                      gradient="batch", batch_size=self.batch_size,
                      sampling="replace" if self.replace else "without")

    def segment_ends(self, n_steps):
        return range(self.refresh_every, n_steps, self.refresh_every)

    def prepare_segment(self, model, theta, alive, state, k0):
        """Fresh top eigenvectors of each live replica at refresh steps (Lanczos on compiled
        HVPs), frozen until the next."""
        if k0 % self.refresh_every:
            return
        from ..hessian import hessian_eigenpairs
        for r in np.nonzero(alive)[0]:
            state.eigenvectors[r] = hessian_eigenpairs(model, theta[r], k=self.k, tol=1e-8).vectors.T
