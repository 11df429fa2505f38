"""Full-batch gradient descent, optionally with heavy-ball momentum."""
import dataclasses

from .base import Scheme, check_lr_momentum, codes


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

    def config(self, model):
        return codes(h=self.lr, mu=self.momentum)
