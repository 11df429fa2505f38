"""Fluctuation-dissipation relations of SGD at stationarity, measured during a run.

Yaida (ICLR 2019): for any loss and any mini-batch noise, stationarity of ``E[θθᵀ]`` under
``θ' = θ − η g_B`` gives, exactly (``⟨·⟩`` the stationary average, ``g_B`` the batch gradient
at the same ``θ``):

- FDR1 ``⟨θ·∇L⟩ = (η/2) ⟨‖g_B‖²⟩``;
- FDR2 ``⟨θ_i ∂_j L + θ_j ∂_i L⟩ = η ⟨(g_B g_Bᵀ)_ij⟩``.

``θ`` may be measured from any fixed ``origin`` (stationarity of ``E θ`` gives ``⟨∇L⟩ = 0``);
an origin near the stationary mean lowers the variance of the estimator.

Heavy-ball momentum ``v' = μv − η g_B``, ``θ' = θ + v'`` (derived with SymPy from stationarity of
``θθᵀ``, ``θvᵀ`` and ``vvᵀ`` in :func:`analysis.derivations.fdr_momentum`; ``v = v_k`` is the
velocity that produced ``θ_k``):

- ``⟨θ_i ∂_j L + θ_j ∂_i L⟩ = ((1 + μ)/η) ⟨v_i v_j⟩``, trace ``⟨θ·∇L⟩ = ((1 + μ)/(2η)) ⟨‖v‖²⟩``;
- in terms of ``g_B``: ``⟨θ·∇L⟩ = η ⟨‖g_B‖²⟩ / (2(1 − μ)) − μ ⟨v·∇L⟩ / (1 − μ)``. The last
  term is not a function of ``g_B`` alone; stationarity of ``L`` gives
  ``⟨v·∇L⟩ = ½⟨vᵀ∇²L v⟩ + O(v³)`` (exact on quadratics), a relative correction
  ``O(ηλμ/(1 − μ))``. Dropping it leaves the ``g_B``-only form with the noise-scale factor
  ``η/(1 − μ)`` (:mod:`analysis.noise_scale`), exact only to leading order.

Linear learning (Han, Park, Lee & Han 2021) and deep linear networks. For
``L = (1/2N) Σ ‖y_n − W x_n‖²`` with ``δ = W − W*``: ``⟨δᵀδ⟩Σ_xx + Σ_xx⟨δᵀδ⟩ = η⟨G_BᵀG_B⟩`` and
``⟨L⟩ − L* = (η/4)⟨‖G_B‖²_F⟩`` (:func:`linear_learning_relations`). For a deep linear network
``P = W_D ⋯ W_1``, ``L = ½ tr(PΣ_xxPᵀ) − tr(Σ_yxPᵀ) + const`` is linear in each layer's factor,
so ``W_l·∇_{W_l}L = tr((PΣ_xx − Σ_yx)Pᵀ)`` for every layer ``l``
(:func:`analysis.derivations.deep_linear_layer_identity`), and FDR2 traced over layer ``l``'s
block gives the deep form

``⟨tr((PΣ_xx − Σ_yx)Pᵀ)⟩ = (η/2)⟨‖∂_{W_l} L_B‖²_F⟩``  for every ``l``:

the mini-batch gradient's squared norm is shared equally between the layers, and
``D ⟨tr((PΣ_xx − Σ_yx)Pᵀ)⟩ = (η/2)⟨‖g_B‖²⟩``. ``D = 1`` with the origin at ``W*`` is the
linear-learning trace form (``tr((PΣ_xx − Σ_yx)Pᵀ) = 2(L − L*) + tr(δΣ_xxW*ᵀ)`` and
``⟨δΣ_xx⟩ = ⟨∇L⟩ = 0``). Measure it with ``FDRObserver(..., blocks=net.offsets)``: relations
``"FDR1_block{l}"``.

Estimators. An observer (``simulate(..., observe=...)``) records per replica, every ``every``
steps, the scalars ``θ·∇L``, ``E_B[‖g_B‖² | θ] = ‖∇L‖² + c_b tr C(θ)`` (``c_b`` from
:func:`landscape_sde.noise.batch_noise_factor`), ``L`` and, with momentum, ``‖v‖²`` and
``v·∇L`` (optionally per parameter block and the matrices of FDR2), so no trajectory is
stored. The exact conditional expectation over the batch replaces the one ``g_B`` SGD drew:
it has the same mean (unbiased) and a smaller variance (it removes the batch draw's
variance). Averages are over replicas and over time after ``burn_in``; standard errors come
from batch means: the window is cut into ``n_batches`` contiguous blocks per replica, and the
block means (independent across replicas, nearly so across blocks when a block is much longer
than the autocorrelation time) give the standard error. The stationarity check compares the
averages of the two half-windows of each side within ``n_se`` combined standard errors.
"""
import dataclasses

import numpy as np

from analysis.stationary import discrete_lyapunov
from landscape_sde import checks as _v
from landscape_sde.noise import batch_noise_factor
from landscape_sde.schemes import SGD
from landscape_sde import simulate

__all__ = ["Relation", "FDRObserver", "block_statistics", "relation", "yaida_relations",
           "linear_learning_relations", "measure_fdr", "effective_temperature",
           "quadratic_temperature"]


@dataclasses.dataclass(frozen=True)
class Relation:
    """Both sides of one relation ``lhs = rhs`` with standard errors (arrays for matrix forms).

    ``z = (lhs − rhs) / se(lhs − rhs)``; ``drift_z`` is the largest half-window disagreement
    of either side in combined standard errors; ``ratio = lhs / rhs`` (of the traces for
    matrices) with its delta-method standard error.
    """

    name: str
    lhs: np.ndarray
    rhs: np.ndarray
    lhs_se: np.ndarray
    rhs_se: np.ndarray
    diff_se: np.ndarray
    ratio: float
    ratio_se: float
    drift_z: float
    n_se: float

    @property
    def z(self):
        return (self.lhs - self.rhs) / self.diff_se

    @property
    def stationary(self):
        """Half-window averages of both sides agree within ``n_se`` standard errors."""
        return bool(self.drift_z < self.n_se)

    @property
    def holds(self):
        """Stationary, and both sides agree within ``n_se`` standard errors (every entry)."""
        return self.stationary and bool(np.all(np.abs(self.z) < self.n_se))

    def __repr__(self):
        return (f"Relation({self.name}: lhs/rhs = {self.ratio:.4f} ± {self.ratio_se:.4f}, "
                f"max|z| = {np.max(np.abs(self.z)):.2f}, drift_z = {self.drift_z:.2f})")


class FDRObserver:
    """Observer ``(theta[, velocity]) -> (n, F)`` recording the FDR observables of each replica.

    Parameters
    ----------
    model : landscape_sde.Model
    scheme : landscape_sde.SGD
        Supplies ``η``, ``b``, the sampling (for ``c_b``) and ``μ`` (records ``v`` if ``μ > 0``).
    origin : array_like (dim,), optional
        ``θ`` is measured from here (default 0).
    blocks : sequence of int, optional
        Offsets ``[0, …, dim]`` of parameter blocks (e.g. ``DeepLinearNetwork.offsets``): the
        scalars are recorded per block as well (block-traces of FDR2).
    matrix_shape : (rows, cols), optional
        Record the matrix form for ``θ`` read as a ``rows × cols`` matrix ``W`` (row-major):
        ``δᵀ∇L`` and ``E_B[G_BᵀG_B]`` (``cols × cols``), and ``vᵀv``. ``(1, dim)`` is FDR2 in
        parameter space; ``(d_out, d_in)`` for a one-layer linear network is the linear-learning
        identity of Han et al. Costs ``O(cols²)`` numbers per replica and observation.

    Each observation costs one full and ``N`` per-sample gradients per replica (``O(N · dim)``
    memory per replica), so observe every few relaxation times rather than every step.
    """

    def __init__(self, model, scheme, origin=None, blocks=None, matrix_shape=None):
        if not isinstance(scheme, SGD):
            raise TypeError(f"scheme: expected landscape_sde.SGD, got {type(scheme).__name__}")
        if scheme.shuffle:
            raise ValueError("scheme: epoch shuffling correlates consecutive batches; the "
                             "per-step relations need independent batches (shuffle=False)")
        self.model, self.scheme = model, scheme
        d = model.dim
        self.origin = np.zeros(d) if origin is None else _v.finite_array("origin", origin, shape=(d,))
        blocks = [0, d] if blocks is None else [int(b) for b in blocks]
        if blocks[0] != 0 or blocks[-1] != d or np.any(np.diff(blocks) <= 0):
            raise ValueError(f"blocks: expected increasing offsets from 0 to dim = {d}, got {blocks!r}")
        self.blocks = blocks
        if matrix_shape is not None:
            r, c = (_v.integer("matrix_shape[0]", matrix_shape[0], low=1),
                    _v.integer("matrix_shape[1]", matrix_shape[1], low=1))
            if r * c != d:
                raise ValueError(f"matrix_shape: rows · cols must equal dim = {d}, got {matrix_shape!r}")
            matrix_shape = (r, c)
        self.matrix_shape = matrix_shape
        self.c_b = batch_noise_factor(model.n_samples, scheme.batch_size, scheme.replace)
        self.momentum = scheme.momentum > 0
        nb = len(blocks) - 1
        sizes = {"theta_grad": nb, "grad_sq": nb, "batch_grad_sq": nb, "loss": 1}
        if self.momentum:
            sizes.update(velocity_sq=nb, velocity_grad=1)
        if matrix_shape is not None:
            c = matrix_shape[1]
            sizes.update(theta_grad_matrix=c * c, batch_grad_matrix=c * c)
            if self.momentum:
                sizes["velocity_matrix"] = c * c
        self.sizes = sizes
        self._grad = model.compiled("grad")
        self._sample_grads = model.compiled("sample_grads")
        self._loss = model.compiled("loss")
        self._idx = np.arange(model.n_samples, dtype=np.int64)

    def spec(self, every):
        """The ``observe=`` entry ``(every, self[, "velocity"])``."""
        return (every, self, "velocity") if self.momentum else (every, self)

    def __call__(self, theta, velocity=None):
        n, d = theta.shape
        N = self.model.n_samples
        g = np.empty((n, d))
        G = np.empty((n, N, d))
        loss = np.empty(n)
        for r in range(n):  # compiled gradient, per-sample gradients and loss per replica
            th = np.ascontiguousarray(theta[r])
            self._grad(th, self.model.data, g[r])
            self._sample_grads(th, self.model.data, self._idx, G[r])
            loss[r] = self._loss(th, self.model.data)
        dG = G - g[:, None, :]
        delta = theta - self.origin
        block = lambda x: np.add.reduceat(x, self.blocks[:-1], axis=-1)  # noqa: E731
        rows = {"theta_grad": block(delta * g), "grad_sq": block(g * g)}
        # E_B ‖g_B‖² = ‖∇L‖² + c_b tr C, per block
        rows["batch_grad_sq"] = rows["grad_sq"] + self.c_b * block((dG * dG).mean(axis=1))
        rows["loss"] = loss[:, None]
        if self.momentum:
            rows["velocity_sq"] = block(velocity * velocity)
            rows["velocity_grad"] = np.sum(velocity * g, axis=1)[:, None]
        if self.matrix_shape is not None:
            shape = (n,) + self.matrix_shape
            Dm, Gm = delta.reshape(shape), g.reshape(shape)
            rows["theta_grad_matrix"] = np.einsum("nki,nkj->nij", Dm, Gm).reshape(n, -1)
            Gi = dG.reshape((n, N) + self.matrix_shape)
            rows["batch_grad_matrix"] = (np.einsum("nki,nkj->nij", Gm, Gm) + self.c_b / N
                                         * np.einsum("nski,nskj->nij", Gi, Gi)).reshape(n, -1)
            if self.momentum:
                V = velocity.reshape(shape)
                rows["velocity_matrix"] = np.einsum("nki,nkj->nij", V, V).reshape(n, -1)
        return np.concatenate([rows[k] for k in self.sizes], axis=1)

    def split(self, values):
        """Named views of recorded ``values`` (..., F); matrices reshaped to ``(..., c, c)``."""
        out, start = {}, 0
        for name, size in self.sizes.items():
            part = values[..., start:start + size]
            if name.endswith("_matrix"):
                c = self.matrix_shape[1]
                part = part.reshape(part.shape[:-1] + (c, c))
            elif name in ("loss", "velocity_grad"):
                part = part[..., 0]
            out[name] = part
            start += size
        return out


def block_statistics(samples, n_batches):
    """Mean and batch-means standard error of ``samples`` ``(n_time, n_replicas, ...)``.

    The time axis is cut into ``n_batches`` contiguous blocks; the ``n_batches · n_replicas``
    block means are treated as independent. Returns ``(mean, se, block_means)``.
    """
    samples = np.asarray(samples, dtype=float)
    n_batches = _v.integer("n_batches", n_batches, low=1, high=samples.shape[0])
    blocks = np.stack([b.mean(axis=0) for b in np.array_split(samples, n_batches, axis=0)])
    flat = blocks.reshape((-1,) + samples.shape[2:])
    if flat.shape[0] < 2:
        raise ValueError("n_batches: need at least two block means (replicas × batches >= 2)")
    return flat.mean(axis=0), flat.std(axis=0, ddof=1) / np.sqrt(flat.shape[0]), flat


def relation(name, lhs, rhs, n_batches=10, n_se=4.0):
    """:class:`Relation` from per-observation samples of both sides, ``(n_time, n_rep, ...)``."""
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    n_se = _v.positive("n_se", n_se)
    ml, sl, bl = block_statistics(lhs, n_batches)
    mr, sr, br = block_statistics(rhs, n_batches)
    _, sd, _ = block_statistics(lhs - rhs, n_batches)
    tr = (lambda a: np.trace(a, axis1=-2, axis2=-1)) if lhs.ndim == 4 else (lambda a: a)  # noqa: E731
    tl, trr = tr(bl), tr(br)
    ratio = tl.mean() / trr.mean()
    ratio_se = float(np.std((tl - ratio * trr) / trr.mean(), ddof=1) / np.sqrt(tl.shape[0]))
    half = lhs.shape[0] // 2
    drift = 0.0
    for side in (lhs, rhs):
        m1, s1, _ = block_statistics(side[:half], max(1, n_batches // 2))
        m2, s2, _ = block_statistics(side[half:], max(1, n_batches // 2))
        drift = max(drift, float(np.max(np.abs(m1 - m2) / np.sqrt(s1**2 + s2**2))))
    return Relation(name, ml, mr, sl, sr, sd, float(ratio), ratio_se, drift, float(n_se))


def _window(ensemble, observer, burn_in, name):
    obs = ensemble.observables[name]
    keep = obs["t"] >= burn_in
    if keep.sum() < 4:
        raise ValueError(f"burn_in: only {int(keep.sum())} observations at or after step "
                         f"{burn_in}; need at least 4")
    if np.any(ensemble.diverged):
        raise ValueError(f"ensemble: {int(ensemble.diverged.sum())} replicas diverged; "
                         "no stationary state to measure")
    return observer.split(obs["values"][keep])


def yaida_relations(ensemble, observer, *, burn_in=0, n_batches=10, n_se=4.0, name="fdr"):
    """Yaida's relations from an ensemble recorded with ``observe={name: observer.spec(every)}``.

    Returns a dict of :class:`Relation`; always ``"FDR1"`` (``μ = 0``: with ``g_B``; ``μ > 0``:
    with ``v``), and with momentum ``"FDR1_gradient"`` (exact, with ``⟨v·∇L⟩``) and
    ``"FDR1_noise_scale"`` (``g_B`` only, leading order). With ``matrix_shape = (1, dim)``
    also ``"FDR2"``; per-block traces ``"FDR1_block{l}"`` if blocks were given.
    """
    s = _window(ensemble, observer, burn_in, name)
    eta, mu = observer.scheme.lr, observer.scheme.momentum
    lhs = s["theta_grad"]
    if observer.momentum:
        rhs = (1 + mu) / (2 * eta) * s["velocity_sq"]
    else:
        rhs = eta / 2 * s["batch_grad_sq"]
    out = {"FDR1": relation("FDR1", lhs.sum(-1), rhs.sum(-1), n_batches, n_se)}
    if len(observer.blocks) > 2:
        for k in range(lhs.shape[-1]):
            out[f"FDR1_block{k}"] = relation(f"FDR1_block{k}", lhs[..., k], rhs[..., k], n_batches, n_se)
    if observer.momentum:
        g_side = eta / (2 * (1 - mu)) * s["batch_grad_sq"].sum(-1)
        out["FDR1_gradient"] = relation("FDR1_gradient", lhs.sum(-1),
                                        g_side - mu / (1 - mu) * s["velocity_grad"], n_batches, n_se)
        out["FDR1_noise_scale"] = relation("FDR1_noise_scale", lhs.sum(-1), g_side, n_batches, n_se)
    if observer.matrix_shape is not None and observer.matrix_shape[0] == 1:
        M = s["theta_grad_matrix"]
        rhs2 = ((1 + mu) / eta * s["velocity_matrix"] if observer.momentum
                else eta * s["batch_grad_matrix"])
        out["FDR2"] = relation("FDR2", M + np.swapaxes(M, -1, -2), rhs2, n_batches, n_se)
    return out


def linear_learning_relations(ensemble, observer, min_loss, *, burn_in=0, n_batches=10,
                              n_se=4.0, name="fdr"):
    """The linear-learning identity (Han, Park, Lee & Han 2021), ``μ = 0``.

    For ``L = (1/2N) Σ ‖y_n − W x_n‖²``, ``δ = W − W*`` (``observer.origin = W*``, the
    least-squares solution, ``matrix_shape = (d_out, d_in)``) and ``Σ_xx = (1/N) Σ x_n x_nᵀ``:
    ``∇L = δ Σ_xx``, so FDR2 becomes

    - matrix form ``⟨δᵀδ⟩ Σ_xx + Σ_xx ⟨δᵀδ⟩ = η ⟨G_Bᵀ G_B⟩`` (``"matrix"``), and, since
      ``L − L* = ½ tr(δ Σ_xx δᵀ) = ½ δ·∇L``,
    - trace form ``⟨L⟩ − L* = (η/4) ⟨‖G_B‖²_F⟩`` (``"trace"``, ``min_loss = L*``).

    ``LinearRegression`` (one output) is ``matrix_shape = (1, dim)``.
    """
    if observer.momentum:
        raise ValueError("observer: the linear-learning identity is stated for μ = 0")
    s = _window(ensemble, observer, burn_in, name)
    eta = observer.scheme.lr
    out = {"trace": relation("trace", s["loss"] - min_loss, eta / 4 * s["batch_grad_sq"].sum(-1),
                             n_batches, n_se)}
    if observer.matrix_shape is not None:
        M = s["theta_grad_matrix"]
        out["matrix"] = relation("matrix", M + np.swapaxes(M, -1, -2), eta * s["batch_grad_matrix"],
                                 n_batches, n_se)
    return out


def measure_fdr(model, scheme, theta0, *, n_steps, n_replicas, every, burn_in, rng=None,
                origin=None, blocks=None, matrix_shape=None, n_batches=10, n_se=4.0):
    """Run ``simulate`` with an :class:`FDRObserver` and return ``(relations, ensemble, observer)``.

    Only the first and last states are saved; the observables are recorded every ``every``
    steps. See :func:`yaida_relations` for the relations returned.
    """
    observer = FDRObserver(model, scheme, origin, blocks, matrix_shape)
    burn_in = _v.integer("burn_in", burn_in, low=0, high=n_steps)
    ens = simulate(model, scheme, theta0, n_steps=n_steps, n_replicas=n_replicas,
                   save_at=[0], rng=rng, observe={"fdr": observer.spec(every)})
    return yaida_relations(ens, observer, burn_in=burn_in, n_batches=n_batches, n_se=n_se), ens, observer


def effective_temperature(rel, trace_hessian):
    """``T_eff = ⟨(θ − θ*)·∇L⟩ / tr H`` from a measured FDR1 :class:`Relation`, both ways:
    ``(T_dissipation, se, T_fluctuation, se)``, the second from the right side (``(η/2)⟨‖g_B‖²⟩``,
    or its momentum form).

    The definition: the temperature ``T`` of an isotropic covariance ``S = T·I`` with the same
    ``⟨θ·∇L⟩ = tr(HS)``; for the SME on a quadratic it is exactly ``η tr Σ_b / (2 tr H)``
    whatever the anisotropy of ``H`` and ``Σ_b`` (trace of ``HS + SH = η Σ_b``), so it depends on
    ``(η, b)`` only through the noise scale (``η c_b = g/(N − 1)``). Use a constant ``tr H``
    (quadratics) or its stationary average.
    """
    t = _v.positive("trace_hessian", trace_hessian)
    return (float(rel.lhs) / t, float(rel.lhs_se) / t, float(rel.rhs) / t, float(rel.rhs_se) / t)


def quadratic_temperature(H, minibatch_cov, lr, momentum=0.0):
    """Predictions of ``T_eff = ⟨θ·∇L⟩ / tr H`` for SGD on ``½ θᵀHθ`` with additive noise of
    covariance ``Σ_b`` (``minibatch_cov``, i.e. ``c_b C``).

    Returns a dict:

    - ``"exact"``: ``tr(HS)/tr H`` with ``S`` the discrete Lyapunov solution
      (:func:`analysis.stationary.discrete_lyapunov`, momentum included);
    - ``"sme"``: ``η tr Σ_b / (2 (1 − μ) tr H)``, exact for the SME (``μ = 0``), leading order
      in ``η`` for SGD (the ``1/(1 − μ)`` of the noise scale);
    - ``"second_order"`` (``μ = 0``): ``"sme" + η² tr(HΣ_b)/(4 tr H)``, from
      ``tr(HS) = (η/2)(tr Σ_b + tr(HSH))`` (:func:`analysis.derivations.quadratic_temperature`).
      SGD runs hotter than its SME.
    """
    H = np.atleast_2d(np.asarray(H, dtype=float))
    Sig = np.atleast_2d(np.asarray(minibatch_cov, dtype=float))
    lr = _v.positive("lr", lr)
    mu = _v.real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    tr = np.trace(H)
    out = {"exact": float(np.trace(H @ discrete_lyapunov(H, Sig, lr, mu)) / tr),
           "sme": float(lr * np.trace(Sig) / (2 * (1 - mu) * tr))}
    if mu == 0.0:
        out["second_order"] = out["sme"] + float(lr**2 * np.trace(H @ Sig) / (4 * tr))
    return out
