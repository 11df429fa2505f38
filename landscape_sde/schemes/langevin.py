"""Overdamped Langevin dynamics ``dθ = −∇L dt + √(2T) dW`` (additive noise, so Itô and
Stratonovich coincide), stationary density ``∝ exp(−L/T)``."""
import dataclasses
import math

from .. import _validation as _v
from .._kernels import trajectory as _t
from .base import Scheme, codes


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
    _noise_code = _t.NOISE_EM

    def __post_init__(self):
        object.__setattr__(self, "dt", _v.positive("dt", self.dt))
        object.__setattr__(self, "temperature", _v.positive("temperature", self.temperature))

    @property
    def step(self):
        return self.dt

    def config(self, model):
        return codes(noise=self._noise_code, h=self.dt,
                     sigma=math.sqrt(2.0 * self.temperature * self.dt))


@dataclasses.dataclass(frozen=True)
class LeimkuhlerMatthews(Langevin):
    """The Leimkuhler-Matthews scheme (the high-friction limit of BAOAB):
    ``θ_{k+1} = θ_k − dt ∇L(θ_k) + √(2 T dt) (ξ_k + ξ_{k+1}) / 2``.

    One gradient per step, like Euler-Maruyama, but stationary averages are second order in
    ``dt`` (Leimkuhler, Matthews & Stoltz, IMA J. Numer. Anal. 2016), and on a quadratic the
    stationary variance is exactly ``T / h``. Weak order 1 on finite horizons.
    """

    order = {"weak": 1, "stationary": 2}
    _noise_code = _t.NOISE_LM


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

    def config(self, model):
        if not model.kernels.diffusion:
            raise ValueError(f"model: {model.name} defines no diffusion of its own; "
                             "AnisotropicLangevin needs a model with a diffusion kernel")
        return codes(noise=_t.NOISE_MODEL, h=self.dt)
