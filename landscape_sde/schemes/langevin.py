"""Overdamped Langevin dynamics ``dθ = −∇L dt + √(2T) dW`` (additive noise, so Itô and
Stratonovich coincide), stationary density ``∝ exp(−L/T)``: Euler-Maruyama, the
Leimkuhler-Matthews scheme, and Euler-Maruyama with a model's own diffusion."""
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
    sigma: float  # √(2 T dt)


class LMState(typing.NamedTuple):
    xi: np.ndarray  # (n_replicas, dim): the previous step's noise ξ_k


@jit(inline="always")
def euler_maruyama_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``θ ← θ − dt g + σ ξ``."""
    g = o.g
    for j in range(th.shape[0]):
        step = -p.dt * g[j]
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        step += p.sigma * e
        th[j] += step
    return s0, s1, s2, s3


@jit(inline="always")
def leimkuhler_matthews_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``θ ← θ − dt g + σ (ξ_k + ξ_{k+1}) / 2``."""
    xi, g = st.xi, o.g
    for j in range(th.shape[0]):
        step = -p.dt * g[j]
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        step += 0.5 * p.sigma * (xi[r, j] + e)
        xi[r, j] = e
        th[j] += step
    return s0, s1, s2, s3


@jit
def leimkuhler_matthews_init(th, st, r, p, s0, s1, s2, s3):
    """The first noise ``ξ_0``."""
    for j in range(st.xi.shape[1]):
        st.xi[r, j], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
    return s0, s1, s2, s3


@jit(inline="always")
def model_diffusion_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``θ ← θ − dt g + √(2 dt D_j(θ)) ξ_j`` with the model's diagonal ``D`` (Itô)."""
    g, dd = o.g, o.dd
    for j in range(th.shape[0]):
        step = -p.dt * g[j]
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        step += np.sqrt(2.0 * p.dt * dd[j]) * e
        th[j] += step
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class Langevin(Scheme):
    """Euler-Maruyama: ``θ_{k+1} = θ_k − dt ∇L(θ_k) + √(2 T dt) ξ_k``, ``ξ_k ~ N(0, I)``.

    Weak order 1 on finite horizons; the bias of stationary averages is O(dt) too. On a
    quadratic ``L = ½ h θ²`` the stationary variance is exactly ``T / (h (1 − h dt / 2))``.

    Parameters
    ----------
    dt : float
        Time step ``> 0``.
    temperature : float
        ``T > 0``, in units of the loss.
    """

    dt: float
    temperature: float
    order = {"weak": 1, "stationary": 1}
    noise = "isotropic"

    def __post_init__(self):
        object.__setattr__(self, "dt", _v.positive("dt", self.dt))
        object.__setattr__(self, "temperature", _v.positive("temperature", self.temperature))

    @property
    def step(self):
        return self.dt

    def method(self, model):
        return Method(euler_maruyama_update,
                      Params(self.dt, math.sqrt(2.0 * self.temperature * self.dt)))

    def diffusion(self, model, points):
        """``D = T I``, as the diagonal ``(M, dim)``."""
        return np.full((len(points), model.dim), self.temperature)


@dataclasses.dataclass(frozen=True)
class LeimkuhlerMatthews(Langevin):
    """The Leimkuhler-Matthews scheme (the high-friction limit of BAOAB):
    ``θ_{k+1} = θ_k − dt ∇L(θ_k) + √(2 T dt) (ξ_k + ξ_{k+1}) / 2``.

    One gradient per step, like Euler-Maruyama, but stationary averages are second order in
    ``dt`` (Leimkuhler, Matthews & Stoltz, IMA J. Numer. Anal. 2016), and on a quadratic the
    stationary variance is exactly ``T / h``. Weak order 1 on finite horizons.

    Parameters
    ----------
    dt : float
        Time step ``> 0``.
    temperature : float
        ``T > 0``, in units of the loss.
    """

    order = {"weak": 1, "stationary": 2}

    def method(self, model):
        return Method(leimkuhler_matthews_update,
                      Params(self.dt, math.sqrt(2.0 * self.temperature * self.dt)),
                      LMState(xi=(model.dim,)), init=leimkuhler_matthews_init)

    def observables(self, model):
        return ()  # ξ is the scheme's internal noise, not a physical state


@dataclasses.dataclass(frozen=True)
class AnisotropicLangevin(Scheme):
    """Euler-Maruyama for ``dθ = −∇L dt + √(2 D(θ)) dW`` with the model's own diagonal,
    possibly state-dependent diffusion ``D(θ)`` (Itô: ``D`` at the start of each step),
    ``θ_{k+1} = θ_k − dt ∇L(θ_k) + √(2 dt D(θ_k)) ξ_k``. Weak order 1.

    For models that define their noise directly, such as the valley models with noise ``Δ``
    across and ``Δ/κ`` along the valley.

    Parameters
    ----------
    dt : float
        Time step ``> 0``.
    """

    dt: float
    order = {"weak": 1, "stationary": 1}
    noise = "model"

    def __post_init__(self):
        object.__setattr__(self, "dt", _v.positive("dt", self.dt))

    @property
    def step(self):
        return self.dt

    def method(self, model):
        if not model.kernels.diffusion:
            raise ValueError(f"model: {model.name} defines no diffusion of its own; "
                             "AnisotropicLangevin needs a model with a diffusion kernel")
        return Method(model_diffusion_update, Params(self.dt, 0.0), diffusion=True)

    def diffusion(self, model, points):
        """The model's own diagonal ``D(θ)``, ``(M, dim)``."""
        from ..fields import model_diffusions
        self.method(model)  # the same check as a run
        return model_diffusions(model, points)
