"""A deterministic high-order reference: gradient flow by the classical Runge-Kutta method."""
import dataclasses
import typing

import numpy as np

from .. import checks as _v
from .._kernels.jit import jit
from .base import Method, Scheme


class Params(typing.NamedTuple):
    dt: float


class State(typing.NamedTuple):
    slopes: np.ndarray  # (n, dim): k₁ + 2k₂ + 2k₃ accumulated over the stages


@jit(inline="always")
def rk4_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """Stage ``i`` of RK4 on ``θ' = −∇L(θ)``, with ``g = ∇L`` at the stage's point."""
    acc, x, g, h = st.slopes, o.x, o.g, p.dt
    if stage == 0:
        for j in range(th.shape[0]):
            acc[r, j] = g[j]
            x[j] = th[j] - 0.5 * h * g[j]
    elif stage == 1:
        for j in range(th.shape[0]):
            acc[r, j] += 2.0 * g[j]
            x[j] = th[j] - 0.5 * h * g[j]
    elif stage == 2:
        for j in range(th.shape[0]):
            acc[r, j] += 2.0 * g[j]
            x[j] = th[j] - h * g[j]
    else:
        for j in range(th.shape[0]):
            th[j] -= h / 6.0 * (acc[r, j] + g[j])
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class GradientFlow(Scheme):
    """Gradient flow ``dθ/dt = −∇L(θ)`` by the classical fourth-order Runge-Kutta method:
    ``k₁ = −∇L(θ)``, ``k₂ = −∇L(θ + dt k₁/2)``, ``k₃ = −∇L(θ + dt k₂/2)``,
    ``k₄ = −∇L(θ + dt k₃)``, ``θ ← θ + dt (k₁ + 2k₂ + 2k₃ + k₄)/6``.

    Global error ``O(dt⁴)`` on a finite horizon; four full gradients per step. The reference
    path that GD with learning rate ``η`` follows for ``η → 0`` at times ``t = kη``: overlay
    it on GD with ``dt`` a fraction of ``η`` (and ``save_every`` to match the times).

    Parameters
    ----------
    dt : float
        Time step ``> 0``, in the time units of the flow (GD's ``t = k η``).
    """

    dt: float
    order = {"strong": 4}
    noise = "none"

    def __post_init__(self):
        object.__setattr__(self, "dt", _v.positive("dt", self.dt))

    @property
    def step(self):
        return self.dt

    def method(self, model):
        return Method(rk4_update, Params(self.dt), State(slopes=(model.dim,)), stages=4)

    def observables(self, model):
        return ()
