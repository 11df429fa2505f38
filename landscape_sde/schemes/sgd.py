"""Mini-batch stochastic gradient descent, with or without replacement, optionally with
heavy-ball momentum (the update rules of :mod:`.gd` on the mini-batch oracle)."""
import dataclasses

from .. import checks as _v
from .base import Scheme, check_batch_size, check_lr_momentum
from .gd import gradient_method


@dataclasses.dataclass(frozen=True)
class SGD(Scheme):
    """SGD ``θ_{k+1} = θ_k − η g_B(θ_k)``, ``g_B = (1/b) Σ_{i∈B} ∇ℓ_i``, a fresh batch per step.

    Batches:

    - ``replace=False`` (default): ``b`` distinct indices drawn uniformly at every step,
      independently of earlier steps; ``Cov g_B = (N − b)/(b (N − 1)) · C``.
    - ``replace=True``: ``b`` i.i.d. uniform indices; ``Cov g_B = C / b``.
    - ``shuffle=True``: epoch shuffling, consecutive batches from a fresh random permutation
      of the data each epoch (an incomplete last batch is dropped). The marginal of one batch is
      the without-replacement one but consecutive batches are correlated, so per-step formulas
      do not apply.

    With momentum ``μ``: ``v_{k+1} = μ v_k − η g_B``, ``θ_{k+1} = θ_k + v_{k+1}``. As an
    approximation of the SME (:class:`SME`) on a finite horizon ``t = kη`` the error of
    expectations is first order in ``η`` (Li, Tai & E, 2017).

    Parameters
    ----------
    lr : float
        Learning rate ``η > 0``.
    batch_size : int
        ``b >= 1`` (and ``<= N`` of the model).
    replace : bool
        Sample indices with replacement.
    momentum : float
        Heavy-ball ``μ`` in ``[0, 1)``.
    shuffle : bool
        Epoch shuffling instead of independent batches (requires ``replace=False``).
    """

    lr: float
    batch_size: int
    replace: bool = False
    momentum: float = 0.0
    shuffle: bool = False
    order = {"weak": 1}
    noise = "minibatch"

    def __post_init__(self):
        check_lr_momentum(self)
        object.__setattr__(self, "batch_size", _v.integer("batch_size", self.batch_size, low=1))
        object.__setattr__(self, "replace", _v.boolean("replace", self.replace))
        object.__setattr__(self, "shuffle", _v.boolean("shuffle", self.shuffle))
        if self.replace and self.shuffle:
            raise ValueError("shuffle: epoch shuffling draws without replacement; "
                             "got shuffle=True with replace=True")

    @property
    def step(self):
        return self.lr

    @property
    def sampling(self):
        return "replace" if self.replace else "shuffle" if self.shuffle else "without"

    def method(self, model):
        check_batch_size(self.batch_size, model)
        return gradient_method(self, model, gradient="batch", batch_size=self.batch_size,
                               sampling=self.sampling)
