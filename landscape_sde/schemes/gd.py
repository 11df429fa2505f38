"""Full-batch gradient descent, optionally with heavy-ball momentum."""
import dataclasses

from .. import _validation as _v
from .base import Scheme, codes


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
        object.__setattr__(self, "lr", _v.positive("lr", self.lr))
        object.__setattr__(self, "momentum", _v.real("momentum", self.momentum, low=0.0,
                                                      high=1.0, high_open=True))

    @property
    def step(self):
        return self.lr

    def config(self, model):
        return codes(h=self.lr, mu=self.momentum)
