"""The stochastic modified equations of SGD (first and second order), with SGD's own
state-dependent covariance."""
import dataclasses
import math
import typing

import numpy as np

from .. import checks as _v
from .._kernels.jit import jit
from .._kernels.rng import normal
from ..noise import batch_noise_factor
from .base import Method, Scheme, check_batch_size

# Forward-difference shift (relative to max(1, |θ|∞)) of the Hessian-gradient product of the
# second-order drift: truncation ~ 1e-7, rounding ~ 1e-16 / 1e-7, relative to H∇L, which the
# drift multiplies by η/2 (exact on quadratics up to rounding).
FD_SHIFT = 1e-7


class Params(typing.NamedTuple):
    dt: float
    sigma: float  # √(η dt c_b / N)


class Params2(typing.NamedTuple):
    dt: float
    sigma: float  # √(η dt c_b / N)
    half_lr: float  # η/2, the coefficient of H∇L in the drift


class State2(typing.NamedTuple):
    drift: np.ndarray  # (n, dim): b(θ_k), the drift at the start of the step
    noise: np.ndarray  # (n, dim): the step's Gaussian increment
    grad: np.ndarray  # (n, dim): ∇L at the point whose drift is being formed
    eps: np.ndarray  # (n,): ε of the forward difference (0 where ∇L = 0)


@jit(inline="always")
def _noise_into(dn, gs, g, sigma, s0, s1, s2, s3):
    """``dn = σ Σ_i z_i (∇ℓ_i − g)``, ``z ~ N(0, I_N)``: covariance ``σ² N C``."""
    dn[:] = 0.0
    for i in range(gs.shape[0]):
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        z = sigma * e
        for j in range(dn.shape[0]):
            dn[j] += z * (gs[i, j] - g[j])
    return s0, s1, s2, s3


@jit(inline="always")
def sme_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """``θ ← θ − dt g + σ Σ_i z_i (∇ℓ_i − g)``, ``z ~ N(0, I_N)``, into the work vector ``x``."""
    dn, g = o.x, o.g
    s0, s1, s2, s3 = _noise_into(dn, o.gs, g, p.sigma, s0, s1, s2, s3)
    for j in range(th.shape[0]):
        step = -p.dt * g[j]
        step += dn[j]
        th[j] += step
    return s0, s1, s2, s3


@jit(inline="always")
def _shift(st, r, base, g, x):
    """Stage at ``base`` with gradient ``g``: keep ``g``, choose ``ε`` and put ``base + ε g``
    into ``x`` (``|ε g|∞ = FD_SHIFT · max(1, |base|∞)``; ``ε = 0`` when ``g = 0``)."""
    gmax, bmax = 0.0, 1.0
    for j in range(g.shape[0]):
        gmax = max(gmax, abs(g[j]))
        bmax = max(bmax, abs(base[j]))
    eps = FD_SHIFT * bmax / gmax if gmax > 0.0 else 0.0
    st.eps[r] = eps
    for j in range(g.shape[0]):
        st.grad[r, j] = g[j]
        x[j] = base[j] + eps * g[j]


@jit(inline="always")
def _drift(st, r, p, g, j):
    """Component ``j`` of ``b = −∇L − (η/2) H∇L`` at the base point, with ``g`` the gradient at
    ``base + ε∇L``: ``H∇L ≈ (∇L(base + ε∇L) − ∇L(base)) / ε``."""
    eps = st.eps[r]
    hg = (g[j] - st.grad[r, j]) / eps if eps > 0.0 else 0.0
    return -st.grad[r, j] - p.half_lr * hg


@jit(inline="always")
def sme2_update(k, stage, th, o, st, r, p, s0, s1, s2, s3):
    """One step of the second-order SME, five oracle evaluations (see :class:`SME`).

    Stages 0-1 at ``θ`` and ``θ + ε∇L``: the drift ``b(θ)``. Stage 2 at ``y = θ + (dt/2) b(θ)``:
    the noise ``ξ = σ Σ_i z_i (∇ℓ_i(y) − ∇L(y))``. Stages 3-4 at ``θ̄ = θ + dt b(θ) + ξ`` and
    ``θ̄ + ε∇L(θ̄)``: ``b(θ̄)``; then ``θ ← θ + (dt/2)(b(θ) + b(θ̄)) + ξ``.
    """
    x, g, h = o.x, o.g, p.dt
    b, xi = st.drift, st.noise
    if stage == 0:
        _shift(st, r, th, g, x)
    elif stage == 1:
        for j in range(th.shape[0]):
            b[r, j] = _drift(st, r, p, g, j)
            x[j] = th[j] + 0.5 * h * b[r, j]
    elif stage == 2:
        s0, s1, s2, s3 = _noise_into(x, o.gs, g, p.sigma, s0, s1, s2, s3)
        for j in range(th.shape[0]):
            xi[r, j] = x[j]
            x[j] = th[j] + h * b[r, j] + xi[r, j]
    elif stage == 3:  # x holds θ̄
        _shift(st, r, x, g, x)
    else:
        for j in range(th.shape[0]):
            th[j] += 0.5 * h * (b[r, j] + _drift(st, r, p, g, j)) + xi[r, j]
    return s0, s1, s2, s3


@dataclasses.dataclass(frozen=True)
class SME(Scheme):
    """Stochastic modified equation of SGD (Li, Tai & E, 2017; JMLR 2019), Itô:

    - ``order=1``: ``dθ = −∇L dt + (η Σ_b(θ))^{1/2} dW``, weak error ``O(η)`` against SGD on
      a finite horizon;
    - ``order=2``: ``dθ = −∇(L + (η/4)‖∇L‖²) dt + (η Σ_b(θ))^{1/2} dW``, i.e. the drift
      ``b = −∇L − (η/2) H∇L``; weak error ``O(η²)`` against SGD.

    ``Σ_b(θ) = c_b C(θ)`` is the exact mini-batch covariance of SGD with learning rate ``η`` and
    batch size ``b`` (``c_b`` from :func:`landscape_sde.noise.batch_noise_factor`). No matrix
    root is taken: the increment ``√(η dt c_b / N) Σ_i z_i (∇ℓ_i − ∇L)`` with ``z ~ N(0, I_N)``
    has covariance ``η dt Σ_b(θ)`` exactly, at O(N·dim) per evaluation.

    Integrators (``dt`` default ``η``):

    - order 1: Euler-Maruyama, weak order 1 in ``dt``, one oracle evaluation per step. With
      ``dt = η`` the scheme is SGD with the mini-batch noise replaced by a Gaussian of the same
      conditional covariance; for affine gradients the first two moments then coincide with
      SGD's exactly.
    - order 2: Heun's predictor-corrector on the drift, with the noise amplitude taken at the
      drift midpoint ``y = θ + (dt/2) b(θ)``: ``ξ = σ(y) ΔW``, ``θ̄ = θ + dt b(θ) + ξ``,
      ``θ ← θ + (dt/2)(b(θ) + b(θ̄)) + ξ``. ``H∇L`` is a forward difference of gradients along
      ``∇L`` (relative error ~1e-7; exact up to rounding on quadratics). Five oracle
      evaluations per step (two per drift, one for the noise). Its weak error is ``O(dt² + η² dt)``: second order in ``dt``
      for additive noise, and for state-dependent ``Σ_b`` up to the terms in ``∇Σ_b`` that
      carry the square of the noise strength ``η`` (second order in the small-noise sense
      of Milstein & Tretyakov, 1997), which are ``O(η³)`` at ``dt ∝ η``. Declared
      ``order = {"weak": 2}``.

    ``scheme.order`` is the dict of declared orders (``{"weak": 1}`` or ``{"weak": 2}``), like
    every scheme's; the constructor takes ``order=1``, ``2``, or that dict.

    Parameters
    ----------
    lr : float
        SGD learning rate ``η > 0`` (sets the noise strength and the second-order drift).
    batch_size : int
        SGD batch size ``b`` (``1 <= b <= N``).
    replace : bool
        Whether the SGD being modelled samples with replacement.
    dt : float or None
        Integration step ``> 0`` in SDE time; ``None`` means ``dt = lr``. To resolve the
        SDE's own ``O(η^order)`` distance from SGD, take ``dt`` a fraction of ``η``.
    order : {1, 2}
        Order of the modified equation.
    """

    lr: float
    batch_size: int
    replace: bool = False
    dt: float = None
    order: dict = 1
    noise = "sme"

    def __post_init__(self):
        object.__setattr__(self, "lr", _v.positive("lr", self.lr))
        object.__setattr__(self, "batch_size", _v.integer("batch_size", self.batch_size, low=1))
        object.__setattr__(self, "replace", _v.boolean("replace", self.replace))
        object.__setattr__(self, "dt", self.lr if self.dt is None else _v.positive("dt", self.dt))
        order = self.order.get("weak") if isinstance(self.order, dict) and len(self.order) == 1 else self.order
        if isinstance(order, bool) or order not in (1, 2):
            raise ValueError(f"order: expected 1 or 2, got {self.order!r}")
        object.__setattr__(self, "order", {"weak": int(order)})

    @property
    def step(self):
        return self.dt

    def method(self, model):
        check_batch_size(self.batch_size, model)
        c_b = batch_noise_factor(model.n_samples, self.batch_size, self.replace)
        sigma = math.sqrt(self.lr * self.dt * c_b / model.n_samples)
        if self.order["weak"] == 1:
            return Method(sme_update, Params(self.dt, sigma), gradient="samples")
        dim = (model.dim,)
        return Method(sme2_update, Params2(self.dt, sigma, 0.5 * self.lr),
                      State2(drift=dim, noise=dim, grad=dim, eps=()),
                      gradient="samples", stages=5)

    def params(self):
        return {**super().params(), "order": self.order["weak"]}

    def observables(self, model):
        return ()

    def drift_potential(self, model, points):
        """``L`` (order 1) or ``L + (η/4)‖∇L‖²`` (order 2)."""
        from ..fields import gradients, losses
        u = losses(model, points)
        if self.order["weak"] == 2:
            u = u + 0.25 * self.lr * np.sum(gradients(model, points) ** 2, axis=-1)
        return u

    def diffusion(self, model, points):
        """``D(θ) = (η/2) c_b C(θ)``, ``(M, dim, dim)`` (both orders)."""
        from ..fields import sample_covariances
        c_b = batch_noise_factor(model.n_samples, self.batch_size, self.replace)
        return 0.5 * self.lr * c_b * sample_covariances(model, points)
