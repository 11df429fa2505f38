"""Underdamped Langevin dynamics by Euler-Maruyama in phase space: the first-order baseline
that BAOAB (:mod:`.baoab`) improves on."""
import dataclasses
import math
import typing

import numpy as np

from .._kernels.jit import jit
from .._kernels.rng import normal
from .baoab import Underdamped
from .base import Method


class Params(typing.NamedTuple):
    dt: float
    inv_mass: float
    friction: float
    s: float  # √(2 γ T dt / m)


class State(typing.NamedTuple):
    velocity: np.ndarray  # (n, dim)


@jit(inline="always")
def underdamped_euler_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``θ ← θ + dt v``, ``v ← v − dt (∇L(θ)/m + γ v) + √(2γT dt/m) ξ`` (old ``θ``, ``v``)."""
    v, g = st.velocity, o.g
    for j in range(th.shape[0]):
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        vj = v[r, j]
        th[j] += p.dt * vj
        v[r, j] = vj - p.dt * (p.inv_mass * g[j] + p.friction * vj) + p.s * e
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class UnderdampedEuler(Underdamped):
    """Euler-Maruyama for underdamped Langevin ``dθ = v dt``,
    ``m dv = −∇L dt − γ m v dt + √(2 γ m T) dW``, ``v_0 = 0``.

    Weak order 1, and its stationary averages carry an ``O(dt)`` bias in the positions as in
    the velocities (on a harmonic well ``⟨θ²⟩ ≠ T/h`` at every ``dt > 0``); kept as the baseline
    that shows what BAOAB's splitting buys.

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

    order = {"weak": 1, "stationary": 1}

    def method(self, model):
        return Method(underdamped_euler_update,
                      Params(self.dt, 1.0 / self.mass, self.friction,
                             math.sqrt(2.0 * self.friction * self.temperature * self.dt / self.mass)),
                      State(velocity=(model.dim,)))
