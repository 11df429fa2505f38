"""Nudged SGD (Jastrzębski et al., ICLR 2019): a reduced step along the sharpest directions."""
import dataclasses

from .. import _validation as _v
from .._kernels import trajectory as _t
from .base import Scheme, check_batch_size, check_lr_momentum, codes


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

    def config(self, model):
        check_batch_size(self.batch_size, model)
        if self.k >= model.dim:
            raise ValueError(f"k: must be < the model's dim = {model.dim}, got {self.k}")
        sampling = _t.SAMPLE_REPLACE if self.replace else _t.SAMPLE_WITHOUT
        return codes(grad=_t.GRAD_BATCH, batch_size=self.batch_size, sampling=sampling,
                     h=self.lr, mu=self.momentum, project=1.0 - self.gamma)
