"""The stochastic modified equation of SGD, with SGD's own state-dependent covariance."""
import dataclasses
import math
import typing

from .. import checks as _v
from .._kernels.jit import jit
from .._kernels.rng import normal
from ..noise import batch_noise_factor
from .base import Method, Scheme, check_batch_size


class Params(typing.NamedTuple):
    dt: float
    sigma: float  # √(η dt c_b / N)


@jit(inline="always")
def sme_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``θ ← θ − dt g + σ Σ_i z_i (∇ℓ_i − g)``, ``z ~ N(0, I_N)``, into the work vector ``x``."""
    dn, g, gs = o.x, o.g, o.gs
    dn[:] = 0.0
    for i in range(gs.shape[0]):
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        z = p.sigma * e
        for j in range(th.shape[0]):
            dn[j] += z * (gs[i, j] - g[j])
    for j in range(th.shape[0]):
        step = -p.dt * g[j]
        step += dn[j]
        th[j] += step
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class SME(Scheme):
    """First-order SME (Li, Tai & E, 2017), Itô: ``dθ = −∇L dt + (η Σ_b(θ))^{1/2} dW``.

    ``Σ_b(θ) = c_b C(θ)`` is the exact mini-batch covariance of SGD with learning rate ``η`` and
    batch size ``b`` (``c_b`` from :func:`landscape_sde.noise.batch_noise_factor`). Integrated
    by Euler-Maruyama with step ``dt`` (default ``η``), weak order 1 in ``dt``. No matrix root
    is taken: the increment ``√(η dt c_b / N) Σ_i z_i (∇ℓ_i − ∇L)`` with ``z ~ N(0, I_N)`` has
    covariance ``η dt Σ_b(θ)`` exactly, at O(N·dim) per step.

    With ``dt = η`` the scheme is SGD with the mini-batch noise replaced by a Gaussian of the
    same conditional covariance; for affine gradients the first two moments then coincide with
    SGD's exactly.

    Parameters
    ----------
    lr : float
        SGD learning rate ``η > 0`` (sets the noise strength).
    batch_size : int
        SGD batch size ``b`` (``1 <= b <= N``).
    replace : bool
        Whether the SGD being modelled samples with replacement.
    dt : float or None
        Integration step ``> 0`` in SDE time; ``None`` means ``dt = lr``.
    """

    lr: float
    batch_size: int
    replace: bool = False
    dt: float = None
    order = {"weak": 1}
    noise = "sme"

    def __post_init__(self):
        object.__setattr__(self, "lr", _v.positive("lr", self.lr))
        object.__setattr__(self, "batch_size", _v.integer("batch_size", self.batch_size, low=1))
        object.__setattr__(self, "replace", _v.boolean("replace", self.replace))
        object.__setattr__(self, "dt", self.lr if self.dt is None else _v.positive("dt", self.dt))

    @property
    def step(self):
        return self.dt

    def method(self, model):
        check_batch_size(self.batch_size, model)
        c_b = batch_noise_factor(model.n_samples, self.batch_size, self.replace)
        return Method(sme_update, Params(self.dt, math.sqrt(self.lr * self.dt * c_b / model.n_samples)),
                      gradient="samples")

    def diffusion(self, model, points):
        """``D(θ) = (η/2) c_b C(θ)``, ``(M, dim, dim)``."""
        from ..fields import sample_covariances
        c_b = batch_noise_factor(model.n_samples, self.batch_size, self.replace)
        return 0.5 * self.lr * c_b * sample_covariances(model, points)
