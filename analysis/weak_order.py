"""Does the SDE describe SGD at this η? Weak errors of stochastic modified equations against
SGD, and their order as the slope of ``log |E_SGD f − E_SDE f|`` against ``log η``.

:func:`weak_error` runs SGD and its SDEs at each learning rate ``η`` on a common time grid
(SGD's steps ``t_k = kη``; an SDE with ``dt = η/substeps`` saved every ``substeps`` steps) to
the same horizon ``t_final``, compares expectations of the observables there, and fits the
slope by least squares on the log-log points. Confidence intervals come from a bootstrap over
blocks of replicas (every run's replicas are split into blocks; each bootstrap draw resamples
the blocks of every run independently, recomputes every difference and refits), so they carry
the Monte Carlo error of both sides of every difference.

The SDE expectation is that of the SDE, not of its integrator: by default each SDE runs at
``dt`` and ``dt/2`` and the two are Richardson-extrapolated with the scheme's declared weak
order ``p`` (``(2^p E_{dt/2} − E_dt) / (2^p − 1)``), which removes the integrator's leading
``O(dt^p)`` error. Closed forms can stand in for any run (:class:`Exact`), e.g. the exact
moments of SGD and of the SME on a quadratic (:func:`quadratic_moments`).

Replica counts: a weak error of order ``p`` at ``η`` is ``~ η^p``; resolving it to a fixed
relative precision needs a standard error ``∝ η^p``, hence ``n ∝ η^{−2p}`` replicas
(:func:`replica_counts`; ``η⁻²`` for SME-1, ``η⁻⁴`` for SME-2). This is conservative when the
observable's spread itself shrinks with η (noise of strength √η around a deterministic start).
"""
import dataclasses
import math

import numpy as np
import scipy.linalg

import landscape_sde as lsde
from landscape_sde import checks as _v
from landscape_sde.noise import batch_noise_factor
from landscape_sde.rng import as_seed_sequence

__all__ = ["Exact", "WeakError", "weak_error", "replica_counts", "fit_slope", "quadratic_moments"]

CHUNK = 1 << 18  # replicas per simulate call (bounds the memory of one call)


@dataclasses.dataclass(frozen=True)
class Exact:
    """A closed form in place of a simulated scheme: ``values(lr, t) -> {observable: E f}``."""

    values: object
    label: str = "exact"

    def __post_init__(self):
        if not callable(self.values):
            raise TypeError(f"values: expected a callable (lr, t) -> dict, got {self.values!r}")


@dataclasses.dataclass(frozen=True)
class WeakError:
    """Result of :func:`weak_error`.

    ``expectation[s][f]``, ``stderr[s][f]``: ``E f(θ_{t_final})`` per learning rate for scheme
    ``s`` (after Richardson extrapolation) and its standard error; ``error[s][f] = E_ref f −
    E_s f`` (signed) and ``error_se``; ``slope[s][f]`` the least-squares slope of
    ``log |error|`` on ``log η`` and ``ci[s][f] = (lo, hi)`` its bootstrap percentile interval
    at ``level``; ``n_replicas[s]`` the replicas per learning rate (per refinement); ``order``
    the schemes' declared weak orders.
    """

    lrs: np.ndarray
    t_final: float
    reference: str
    observables: tuple
    expectation: dict
    stderr: dict
    error: dict
    error_se: dict
    slope: dict
    ci: dict
    level: float
    n_replicas: dict
    order: dict
    meta: dict

    def table(self):
        """Rows ``scheme  observable  slope  [lo, hi]`` as text."""
        rows = [f"{'scheme':<8} {'observable':<10} {'slope':>6}  {int(100 * self.level)}% CI"]
        for s in self.slope:
            for f in self.observables:
                lo, hi = self.ci[s][f]
                rows.append(f"{s:<8} {f:<10} {self.slope[s][f]:6.2f}  [{lo:.2f}, {hi:.2f}]")
        return "\n".join(rows)


def replica_counts(lrs, n_replicas, order, max_replicas=None):
    """Replicas per learning rate: ``n_replicas`` at the largest ``η``, scaled by
    ``(η_max/η)^{2·order}`` (a sequence of counts is used as given). Raises ``ValueError``
    if a count exceeds ``max_replicas``."""
    lrs = np.asarray(lrs, dtype=np.float64)
    if np.ndim(n_replicas) == 0:
        n = _v.integer("n_replicas", n_replicas, low=2)
        counts = np.ceil(n * (lrs.max() / lrs) ** (2 * order)).astype(np.int64)
    else:
        counts = np.array([_v.integer("n_replicas", c, low=2) for c in n_replicas], dtype=np.int64)
        if counts.shape != lrs.shape:
            raise ValueError(f"n_replicas: expected one count per lr ({lrs.size}), got {counts.size}")
    if max_replicas is not None and counts.max() > max_replicas:
        raise ValueError(f"n_replicas: resolving weak order {order} at lr={lrs.min():g} needs "
                         f"{counts.max()} replicas > max_replicas={max_replicas}; raise it, "
                         "narrow the lrs or pass explicit counts")
    return counts


def fit_slope(lrs, errors):
    """Least-squares slope of ``log |errors|`` on ``log lrs`` (last axis)."""
    x = np.log(np.asarray(lrs, dtype=np.float64))
    y = np.log(np.abs(errors))
    x = x - x.mean()
    return np.sum(x * (y - y.mean(axis=-1, keepdims=True)), axis=-1) / np.sum(x * x)


def _is_sde(scheme):
    """An SDE scheme has an integration step ``dt`` besides SGD's ``lr``."""
    return "dt" in {f.name for f in dataclasses.fields(scheme)}


def _scheme_at(scheme, lr, substeps):
    """``scheme`` with learning rate ``lr`` (and ``dt = lr/substeps`` if it is an SDE)."""
    return dataclasses.replace(scheme, lr=lr, dt=lr / substeps) if _is_sde(scheme) else \
        dataclasses.replace(scheme, lr=lr)


def _check_schemes(schemes, reference):
    if not isinstance(schemes, dict) or len(schemes) < 2:
        raise ValueError(f"schemes: expected a dict of at least two named schemes, got {schemes!r}")
    if reference not in schemes:
        raise ValueError(f"reference: {reference!r} is not one of the schemes {sorted(schemes)}")
    for name, s in schemes.items():
        if isinstance(s, Exact):
            continue
        _v.scheme(s, f"schemes[{name!r}]")
        if "lr" not in {f.name for f in dataclasses.fields(s)}:
            raise ValueError(f"schemes[{name!r}]: {s.name} has no learning rate to vary "
                             "(expected SGD, GD, SME or a scheme with an lr field)")
        if "weak" not in s.order:
            raise ValueError(f"schemes[{name!r}]: {s.name} declares no weak order")


def _block_means(values, n_blocks):
    """``(means (nb, n_obs), sizes (nb,))`` of ``nb = min(n_blocks, n)`` contiguous blocks of
    the rows of ``values``."""
    edges = np.linspace(0, values.shape[0], min(n_blocks, values.shape[0]) + 1).round().astype(np.int64)
    sizes = np.diff(edges)
    return np.add.reduceat(values, edges[:-1], axis=0) / sizes[:, None], sizes


def _n_steps(scheme, t_final):
    n_steps = t_final / scheme.step
    if abs(n_steps - round(n_steps)) > 1e-9 * n_steps:
        raise ValueError(f"t_final: {t_final} is not a multiple of {scheme.name}'s step "
                         f"{scheme.step:g} at lr={scheme.lr:g}")
    return int(round(n_steps))


def _simulate_blocks(model, scheme, theta0, t_final, n, obs, seed, n_blocks, bound):
    """Block means of the observables at ``t_final`` over ``n`` replicas (in chunks)."""
    n_steps = _n_steps(scheme, t_final)
    values = []
    for c, start in enumerate(range(0, n, CHUNK)):
        chunk_seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, c))
        ens = lsde.simulate(model, scheme, theta0, n_steps=n_steps, n_replicas=min(CHUNK, n - start),
                            save_every=n_steps, rng=chunk_seed, divergence_bound=bound)
        if (ens.diverged_at >= 0).any():
            raise ValueError(f"lrs: {scheme.name} at lr={scheme.lr:g} diverged in "
                             f"{int((ens.diverged_at >= 0).sum())} replicas; use smaller lrs")
        th = ens.theta[-1]
        values.append(np.stack([np.asarray(f(th), dtype=np.float64).reshape(th.shape[0])
                                for f in obs.values()], axis=1))
    return _block_means(np.concatenate(values), n_blocks)


def weak_error(model, schemes, observables, lrs, t_final, n_replicas, rng=None, *, theta0,
               reference="SGD", substeps=4, richardson=True, max_replicas=10**8, n_blocks=32,
               n_boot=2000, level=0.9, divergence_bound=1e6):
    """Weak errors ``E_ref f(θ_t) − E_s f(θ_t)`` at ``t = t_final`` for every scheme ``s``
    against ``schemes[reference]`` (SGD), at each learning rate, and their order in ``η``.

    Parameters
    ----------
    model : landscape_sde.Model
    schemes : dict
        ``{name: scheme}``: schemes with an ``lr`` field (their ``lr``, and ``dt`` for SDEs,
        are replaced at each learning rate), or :class:`Exact` closed forms.
    observables : dict
        ``{name: f}``, ``f(theta (n, dim)) -> (n,)``.
    lrs : array_like
        At least two distinct learning rates ``> 0``; ``t_final`` must be a multiple of each
        scheme's step at each of them.
    t_final : float
        Horizon ``> 0`` in SDE time (``t = kη`` for SGD).
    n_replicas : int or sequence of int
        Replicas at the largest ``η`` (scaled by :func:`replica_counts` with the highest weak
        order declared among the simulated SDEs), or one count per learning rate.
    rng : None, int, SeedSequence or Generator
        Root seed; every run (scheme, η, refinement, chunk) has its own spawned stream.
    theta0 : array_like (dim,)
        Common deterministic start.
    reference : str
        Name of the scheme the others are compared with.
    substeps : int
        SDE steps per SGD step (``dt = η/substeps``).
    richardson : bool
        Extrapolate each SDE from ``dt`` and ``dt/2`` with its declared weak order.
    max_replicas : int
        Refuse to run if a scaled count exceeds this.
    n_blocks, n_boot, level :
        Blocks per run for the bootstrap, bootstrap draws, confidence level of the intervals.
    divergence_bound : float
        A run with any replica beyond it raises ``ValueError`` (weak errors of diverging
        ensembles mean nothing).

    Returns
    -------
    WeakError
    """
    _v.model(model)
    _check_schemes(schemes, reference)
    if not isinstance(observables, dict) or not observables or \
            not all(callable(f) for f in observables.values()):
        raise ValueError("observables: expected a non-empty dict {name: f(theta) -> (n,)}, "
                         f"got {observables!r}")
    lrs = _v.finite_array("lrs", lrs, ndim=1)
    if lrs.size < 2 or np.any(lrs <= 0) or np.unique(lrs).size != lrs.size:
        raise ValueError(f"lrs: expected at least two distinct positive learning rates, got {lrs}")
    lrs = np.sort(lrs)
    t_final = _v.positive("t_final", t_final)
    substeps = _v.integer("substeps", substeps, low=1)
    richardson = _v.boolean("richardson", richardson)
    n_blocks = _v.integer("n_blocks", n_blocks, low=2)
    n_boot = _v.integer("n_boot", n_boot, low=10)
    level = _v.real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    theta0 = _v.finite_array("theta0", theta0, shape=(model.dim,))
    seed = as_seed_sequence(rng)
    simulated = {k: s for k, s in schemes.items() if not isinstance(s, Exact)}
    sdes = {k: s for k, s in simulated.items() if _is_sde(s)}
    top = max((s.order["weak"] for s in sdes.values()), default=1)
    counts = replica_counts(lrs, n_replicas, top, max_replicas) if simulated else None
    parts = {}  # (weight, substeps) of the runs combined into each scheme's expectation
    for name, s in simulated.items():
        parts[name] = [(1.0, substeps)]
        if name in sdes and richardson:
            p = s.order["weak"]
            parts[name] = [(-1.0 / (2**p - 1), substeps), (2**p / (2**p - 1), 2 * substeps)]
    # Closed forms, and every run's parameters at every η, are checked before any run.
    blocks = {name: [] for name in schemes}  # blocks[s][i]: [(weight, block means, sizes)]
    for name, s in schemes.items():
        if not isinstance(s, Exact):
            for lr in lrs:
                for _, sub in parts[name]:
                    at = _scheme_at(s, lr, sub)
                    at.method(model)
                    _n_steps(at, t_final)
            continue
        for lr in lrs:
            v = s.values(float(lr), t_final)
            missing = set(observables) - set(v)
            if missing:
                raise ValueError(f"schemes[{name!r}]: the closed form gives no {sorted(missing)}")
            blocks[name].append([(1.0, np.array([[float(v[f]) for f in observables]]), np.ones(1))])
    n_obs = len(observables)
    for si, (name, s) in enumerate(schemes.items()):
        if isinstance(s, Exact):
            continue
        for i, lr in enumerate(lrs):
            runs = []
            for ri, (w, sub) in enumerate(parts[name]):
                run_seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, si, i, ri))
                means, sizes = _simulate_blocks(model, _scheme_at(s, lr, sub), theta0, t_final,
                                                int(counts[i]), observables, run_seed, n_blocks,
                                                divergence_bound)
                runs.append((w, means, sizes))
            blocks[name].append(runs)
    n_used = {name: (None if isinstance(s, Exact) else counts.tolist()) for name, s in schemes.items()}

    def estimate(name, i, draw=None):
        """Expectation (and its variance) of scheme ``name`` at ``lrs[i]``; with ``draw`` a
        generator, a bootstrap replicate: blocks resampled with replacement, ``(n_boot, n_obs)``."""
        total, var = 0.0, 0.0
        for w, means, sizes in blocks[name][i]:
            nb = means.shape[0]
            if draw is None:
                mean = sizes @ means / sizes.sum()
                total = total + w * mean
                if nb > 1:  # variance of the size-weighted mean of independent blocks
                    var = var + w**2 * nb / (nb - 1) * (sizes[:, None] ** 2 * (means - mean) ** 2).sum(0) \
                        / sizes.sum() ** 2
            else:
                idx = draw.integers(0, nb, size=(n_boot, nb))
                total = total + w * np.einsum("bk,bkj->bj", sizes[idx], means[idx]) \
                    / sizes[idx].sum(axis=1)[:, None]
        return total, var

    names = [k for k in schemes if k != reference]
    est = {k: [estimate(k, i) for i in range(lrs.size)] for k in schemes}
    expectation = {k: {f: np.array([e[0][j] for e in est[k]]) for j, f in enumerate(observables)}
                   for k in schemes}
    stderr = {k: {f: np.sqrt(np.array([np.broadcast_to(e[1], (n_obs,))[j] for e in est[k]]))
                  for j, f in enumerate(observables)} for k in schemes}
    error = {k: {f: expectation[reference][f] - expectation[k][f] for f in observables} for k in names}
    error_se = {k: {f: np.hypot(stderr[reference][f], stderr[k][f]) for f in observables} for k in names}
    draw = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 10**6)))
    boot_ref = np.stack([estimate(reference, i, draw)[0] for i in range(lrs.size)], axis=-1)
    slope, ci = {}, {}
    for k in names:
        boot = np.stack([estimate(k, i, draw)[0] for i in range(lrs.size)], axis=-1)  # (boot, obs, lr)
        slopes = fit_slope(lrs, boot_ref - boot)
        slope[k], ci[k] = {}, {}
        for j, f in enumerate(observables):
            slope[k][f] = float(fit_slope(lrs, error[k][f]))
            lo, hi = np.quantile(slopes[:, j], [(1 - level) / 2, (1 + level) / 2])
            ci[k][f] = (float(lo), float(hi))
    order = {k: (None if isinstance(s, Exact) else s.order["weak"]) for k, s in schemes.items()}
    meta = {"model": model.name, "substeps": substeps, "richardson": richardson,
            "n_blocks": n_blocks, "n_boot": n_boot, "seed_entropy": str(seed.entropy),
            "schemes": {k: (s.label if isinstance(s, Exact) else s.params()) for k, s in schemes.items()}}
    return WeakError(lrs, t_final, reference, tuple(observables), expectation, stderr, error,
                     error_se, slope, ci, level, n_used, order, meta)


def quadratic_moments(model, lr, t, theta0, *, method, batch_size, replace=False):
    """Exact mean and covariance at time ``t`` on a :class:`models.Quadratic`
    ``L = ½(θ − c)ᵀH(θ − c)`` with additive noise of per-sample covariance ``C``, from
    ``θ_0 = theta0``:

    - ``method="sgd"``: SGD after ``t/η`` steps (``t`` a multiple of ``η``): ``m_{k+1} − c =
      A(m_k − c)``, ``S_{k+1} = A S_k Aᵀ + η² Σ_b`` with ``A = I − ηH``, ``Σ_b = c_b C``;
    - ``method="sme1"`` / ``"sme2"``: the Ornstein-Uhlenbeck process ``dθ = −K(θ − c) dt +
      (η Σ_b)^{1/2} dW`` with ``K = H`` or ``K = H + (η/2)H²`` (the gradient of
      ``L + (η/4)‖∇L‖²``): ``m(t) − c = e^{−Kt}(θ_0 − c)``,
      ``S(t) = S_∞ − e^{−Kt} S_∞ e^{−Kt}``, ``K S_∞ + S_∞ K = η Σ_b``.

    Returns ``(mean (dim,), cov (dim, dim))``.
    """
    H, C, c = model.hessian_matrix, model.noise_cov, model.center
    sigma = batch_noise_factor(model.n_samples, batch_size, replace) * C
    d0 = np.asarray(theta0, dtype=np.float64) - c
    if method == "sgd":
        k = t / lr
        if abs(k - round(k)) > 1e-9 * max(k, 1.0):
            raise ValueError(f"t: {t} is not a multiple of lr={lr}")
        A = np.eye(model.dim) - lr * H
        Ak = np.linalg.matrix_power(A, int(round(k)))
        # S_k = Σ_{j<k} A^j η²Σ_b A^jᵀ = S_∞ − A^k S_∞ A^kᵀ, S_∞ = A S_∞ Aᵀ + η²Σ_b
        s_inf = scipy.linalg.solve_discrete_lyapunov(A, lr * lr * sigma)
        return c + Ak @ d0, s_inf - Ak @ s_inf @ Ak.T
    if method not in ("sme1", "sme2"):
        raise ValueError(f"method: expected 'sgd', 'sme1' or 'sme2', got {method!r}")
    K = H + (0.5 * lr * H @ H if method == "sme2" else 0.0)
    E = scipy.linalg.expm(-K * t)
    s_inf = scipy.linalg.solve_continuous_lyapunov(K, lr * sigma)
    return c + E @ d0, s_inf - E @ s_inf @ E.T
