"""Underdamped Langevin dynamics by the BAOAB splitting (Leimkuhler & Matthews 2013)."""
import dataclasses
import math
import typing

import numpy as np

from .. import checks as _v
from .._kernels.jit import jit
from .._kernels.rng import normal
from .base import Method, Scheme


class Params(typing.NamedTuple):
    dt: float
    inv_mass: float  # 1/m
    c: float  # exp(−γ dt), the O step's velocity decay
    s: float  # √((1 − c²) T / m), its noise amplitude


class State(typing.NamedTuple):
    half_kicked: np.ndarray  # (n, dim): v after the O and second A, before the closing B
    started: np.ndarray  # (n,): 0 before the first step, 1 after


@jit(inline="always")
def baoab_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """One BAOAB step with the force ``g = ∇L(θ_k)`` of the oracle.

    The closing half kick of step ``k − 1`` and the opening half kick of step ``k`` use the
    same force, so they are applied together here (one gradient per step): ``v ← u − (dt/m) g``
    (``dt/2m`` on the first step), ``θ += (dt/2) v``, ``v ← c v + s ξ``, ``θ += (dt/2) v``,
    ``u ← v``.
    """
    u, g = st.half_kicked, o.g
    kick = (1.0 if st.started[r] > 0.0 else 0.5) * p.dt * p.inv_mass
    for j in range(th.shape[0]):
        v = u[r, j] - kick * g[j]
        th[j] += 0.5 * p.dt * v
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        v = p.c * v + p.s * e
        th[j] += 0.5 * p.dt * v
        u[r, j] = v
    st.started[r] = 1.0
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class Underdamped(Scheme):
    """Parameters shared by the underdamped Langevin schemes (see :class:`BAOAB`)."""

    dt: float
    temperature: float
    friction: float
    mass: float = 1.0
    noise = "thermostat"

    def __post_init__(self):
        for name in ("dt", "temperature", "friction", "mass"):
            object.__setattr__(self, name, _v.positive(name, getattr(self, name)))

    @property
    def step(self):
        return self.dt


@dataclasses.dataclass(frozen=True)
class BAOAB(Underdamped):
    """Underdamped Langevin ``dθ = v dt``, ``m dv = −∇L dt − γ m v dt + √(2 γ m T) dW`` by
    the BAOAB splitting: half kick (B), half drift (A), the exact Ornstein-Uhlenbeck step of
    the friction and noise (O), half drift, half kick.

    The configurational marginal of its stationary state is ``∝ exp(−L/T)`` to second order
    in ``dt``, and on a harmonic well ``L = ½ h θ²`` exactly (``⟨θ²⟩ = T/h`` at every stable
    ``dt``, ``dt² h/m < 4``), while the kinetic temperature ``m⟨v²⟩`` carries an ``O(dt²)``
    bias (``T (1 − h dt²/(4m))`` there). Weak order 2 on finite horizons. In the
    high-friction limit ``γ dt → ∞`` its position update is the Leimkuhler-Matthews scheme with
    step ``dt²/(2m)``. One gradient per step (the force is reused), ``v_0 = 0``.

    ``scheme.step`` is ``dt``; the state ``"velocity"`` (``v_k`` after the closing kick) can
    be observed (``observe={name: (every, fn, "velocity")}``).

    Parameters
    ----------
    dt : float
        Time step ``> 0``.
    temperature : float
        ``T > 0``, in units of the loss.
    friction : float
        ``γ > 0``, in inverse time units.
    mass : float
        ``m > 0``.
    """

    order = {"weak": 2, "stationary": 2}

    def method(self, model):
        c = math.exp(-self.friction * self.dt)
        return Method(baoab_update,
                      Params(self.dt, 1.0 / self.mass, c,
                             math.sqrt((1.0 - c * c) * self.temperature / self.mass)),
                      State(half_kicked=(model.dim,), started=()))

    def observables(self, model):
        return ("velocity",)

    def observe(self, name, model, theta, state):
        """``"velocity"``: ``v_k = u_k − (dt/2m) ∇L(θ_k)``, the stored half-kicked velocity
        completed by the closing kick (``v_0 = 0`` before the first step)."""
        if name != "velocity":
            return super().observe(name, model, theta, state)
        from ..fields import gradients
        kick = np.where(state.started > 0, 0.5 * self.dt / self.mass, 0.0)[:, None]
        return state.half_kicked - kick * gradients(model, theta)
