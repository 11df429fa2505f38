"""The one entry point that runs trajectories: :func:`simulate`."""
import concurrent.futures
import dataclasses
import platform

import numba
import numpy as np

from . import _validation as _v
from ._kernels.codegen import trajectory_module
from .ensemble import Ensemble
from .model import Model
from .rng import as_seed_sequence, root_key
from ._kernels import trajectory as _t
from .schemes.base import Scheme
from .streaming import Streaming

__all__ = ["simulate"]


def simulate(model, scheme, theta0, *, n_steps, n_replicas=1, save_every=1, save_at=None,
             rng=None, divergence_bound=1e10, observe=None, stream=None, progress=False):
    """Run ``n_replicas`` independent trajectories of ``scheme`` on ``model``.

    Validates every argument in Python, allocates the outputs and runs one compiled loop over
    whole trajectories, replicas in parallel (numba threads). Replica ``k`` draws from its own
    stream derived from ``(rng, k)``, so its path is bit-identical whatever the thread count and
    however many replicas run beside it.

    Parameters
    ----------
    model : landscape_sde.Model
    scheme : landscape_sde.schemes.Scheme
        ``GD``, ``SGD``, ``Langevin``, ``LeimkuhlerMatthews`` or ``SME``.
    theta0 : array_like, shape (dim,) or (n_replicas, dim)
        Initial parameters, shared by all replicas or one row per replica.
    n_steps : int
        Number of iterations (``>= 1``).
    n_replicas : int
        Number of independent trajectories (``>= 1``).
    save_every : int
        Save every ``save_every`` iterations (``>= 1``); iteration 0 and the final iteration
        ``n_steps`` are always saved.
    save_at : array_like of int, optional
        Explicit iterations to save, in ``[0, n_steps]`` (sorted and deduplicated; the final
        iteration is always included); overrides ``save_every``.
    rng : None, int, SeedSequence or Generator
        Root seed of the replica streams (see :mod:`landscape_sde.rng`).
    divergence_bound : float
        A replica whose ``|θ_j|`` exceeds this or whose ``θ`` stops being finite (checked at
        every step), or whose loss is not finite at a saved step (the loss is evaluated only
        at saves), is stopped and flagged with that step; the others go on.

    observe : dict, optional
        ``{name: (every, function)}``: every ``every`` steps (step 0 included) call
        ``function(theta)`` with the live replicas' parameters ``(n_alive, dim)``; it returns
        one row per replica (e.g. the sharpness). The run is split into compiled segments at
        those steps, carrying every replica's state, so the paths are bit-identical to a run
        without observers. Results: ``ensemble.observables[name]`` = ``{"t": steps,
        "values": (n_obs, n_replicas, ...)}``, NaN for diverged replicas. A spec
        ``(every, function, "velocity")`` calls ``function(theta, velocity)`` with the
        heavy-ball velocity ``v_k = θ_k − θ_{k−1}`` too (schemes with momentum only).
    stream : landscape_sde.Streaming, optional
        Accumulate statistics at the saved steps inside the compiled loop instead of storing
        trajectories (see :mod:`landscape_sde.streaming`): ``ensemble.stats`` holds them, and
        ``ensemble.theta``/``loss`` hold only the final state (``t = [n_steps]``). Memory does
        not grow with ``n_steps``; the statistics are bit-identical for any thread count.
    progress : bool
        Show a progress bar on stderr (steps done, ETA). The run is split into about 20
        compiled segments carrying every replica's state, so paths are bit-identical.

    Returns
    -------
    Ensemble
    """
    if not isinstance(model, Model):
        raise TypeError(f"model: expected a landscape_sde.Model, got {type(model).__name__}")
    if not isinstance(scheme, Scheme):
        raise TypeError(f"scheme: expected a landscape_sde scheme (GD, SGD, Langevin, ...), "
                        f"got {type(scheme).__name__}")
    n_steps = _v.integer("n_steps", n_steps, low=1)
    n_replicas = _v.integer("n_replicas", n_replicas, low=1)
    bound = _v.positive("divergence_bound", divergence_bound)
    if save_at is None:
        save_every = _v.integer("save_every", save_every, low=1)
        steps = np.arange(0, n_steps + 1, save_every, dtype=np.int64)
    else:
        steps = np.asarray(save_at)
        if steps.ndim != 1 or not np.issubdtype(steps.dtype, np.integer) or steps.size == 0 \
                or steps.min() < 0 or steps.max() > n_steps:
            raise ValueError(f"save_at: expected a 1-D array of integers in [0, {n_steps}], "
                             f"got {save_at!r}")
        steps = np.unique(steps.astype(np.int64))
    if steps[-1] != n_steps:
        steps = np.append(steps, np.int64(n_steps))
    theta0 = _v.finite_array("theta0", theta0, ndim=(1, 2))
    if theta0.shape[-1] != model.dim or (theta0.ndim == 2 and theta0.shape[0] != n_replicas):
        raise ValueError(f"theta0: expected shape ({model.dim},) or ({n_replicas}, {model.dim}) "
                         f"for a model of dim {model.dim} and n_replicas={n_replicas}, "
                         f"got {theta0.shape}")
    if np.abs(theta0).max() > bound:
        raise ValueError(f"theta0: entries must lie within divergence_bound = {bound:g}, got "
                         f"max |theta0| = {np.abs(theta0).max():g}")
    theta0 = np.ascontiguousarray(np.broadcast_to(theta0, (n_replicas, model.dim)))
    structure, iparams, fparams = scheme.config(model)
    seed = as_seed_sequence(rng)
    observe = _check_observers(observe, n_steps, structure[2])
    if stream is not None and not isinstance(stream, Streaming):
        raise TypeError(f"stream: expected a landscape_sde.Streaming or None, got {type(stream).__name__}")
    if stream is not None and stream.abs_above is not None and stream.abs_above >= bound:
        raise ValueError(f"stream: abs_above = {stream.abs_above:g} is never reached before "
                         f"divergence_bound = {bound:g} stops the replica; choose a smaller level")
    progress = _v.boolean("progress", progress)

    grad_kind, noise_kind, momentum, project = structure
    run = trajectory_module(model.kernels, grad_kind, noise_kind, momentum, model.dim, project).drive
    state = _fresh_state(structure, iparams, n_replicas, model, getattr(scheme, "k", 0))
    refresh = getattr(scheme, "refresh_every", None) if project else None
    n_rows = 1 if stream else steps.size  # streaming keeps only the final state
    theta = np.empty((n_rows, n_replicas, model.dim))
    loss = np.empty((n_rows, n_replicas))
    spec = stream or Streaming(coords=())
    s_int, s_flt, s_cols, *acc = spec.allocate(model.dim, steps.size if stream else 0, n_replicas,
                                               passage_only=stream is None)
    block = int(s_int[1]) if stream else 1
    diverged_at = np.full(n_replicas, -1, dtype=np.int64)
    key = root_key(seed)
    # Segments end at observation and NSGD refresh steps; otherwise the run is one segment.
    ends = sorted({n_steps, *[t for every, *_ in observe.values() for t in range(0, n_steps + 1, every)],
                   *(range(refresh, n_steps, refresh) if refresh else ()),
                   *(np.linspace(0, n_steps, 21).astype(np.int64)[1:].tolist() if progress else ())})
    bar = _progress_bar(n_steps, "steps") if progress else None
    obs_values = {name: [] for name in observe}
    obs_steps = {name: [] for name in observe}
    current, k0, fresh = theta0, 0, True
    for k1 in ends:
        seg = np.unique(np.concatenate([steps[(steps >= k0) & (steps <= k1)] if fresh
                                        else steps[(steps > k0) & (steps <= k1)], [k1]]))
        seg_rows = 1 if stream else seg.size
        seg_theta = np.empty((seg_rows, n_replicas, model.dim))
        seg_loss = np.empty((seg_rows, n_replicas))
        # global save index of each segment save (−1: a segment end that is not a save)
        s_index = np.where(np.isin(seg, steps), np.searchsorted(steps, seg), -1).astype(np.int64)
        if refresh and k0 % refresh == 0:  # NSGD: fresh top eigenvectors, frozen until the next
            _refresh_projectors(model, scheme, current, diverged_at < 0, state[-1])
        if k1 > k0 or fresh:
            _run_chunks(run, (model.data, current, model.n_samples, iparams, fparams, key, seg,
                              bound, seg_theta, seg_loss, diverged_at), state, fresh, k0, n_replicas,
                        (s_index, s_int, s_flt, s_cols, *acc), block)
        if stream:
            theta[0], loss[0] = seg_theta[0], seg_loss[0]
        else:
            keep = np.isin(seg, steps)
            theta[np.isin(steps, seg)] = seg_theta[keep]
            loss[np.isin(steps, seg)] = seg_loss[keep]
        current = np.ascontiguousarray(seg_theta[-1])
        if bar is not None:
            bar.update(k1 - bar.done)
        for name, (every, fn, with_v) in observe.items():
            if k1 % every == 0:
                obs_steps[name].append(k1)
                obs_values[name].append(_observe(fn, name, current, diverged_at < 0,
                                                 state[1] if with_v else None))
        k0, fresh = k1, False
    if bar is not None:
        bar.close()
    stats = spec.results(steps, s_cols, *acc) if stream else {}
    observables = {name: {"t": np.array(obs_steps[name], dtype=np.int64),
                          "values": _stack_observations(obs_values[name], n_replicas)}
                   for name in observe}

    meta = {
        "model": {"name": model.name, "dim": model.dim, "n_samples": model.n_samples,
                  "params": model.params()},
        "scheme": {"name": scheme.name, "step": scheme.step, "order": scheme.order,
                   "noise": scheme.noise, "params": scheme.params()},
        "n_steps": n_steps, "n_replicas": n_replicas, "divergence_bound": bound,
        "stream": dataclasses.asdict(stream) if stream else None,
        "seed": {"entropy": str(seed.entropy), "spawn_key": list(seed.spawn_key)},
        "versions": {"landscape_sde": _version(), "numpy": np.__version__,
                     "numba": numba.__version__, "python": platform.python_version()},
    }
    return Ensemble(t=steps[-1:] if stream else steps, theta=theta, loss=loss,
                    diverged=diverged_at >= 0, diverged_at=diverged_at, meta=meta,
                    observables=observables, stats=stats)


def _fresh_state(structure, iparams, n_replicas, model, k=0):
    """Per-replica state carried between segments (filled by the compiled loop), and the
    frozen NSGD eigenvectors ``(n_replicas, k, dim)`` (filled by :func:`_refresh_projectors`)."""
    grad_kind, noise_kind, momentum, project = structure
    batch = grad_kind == _t.GRAD_BATCH and iparams[1] != _t.SAMPLE_REPLACE
    return (np.zeros((n_replicas, 4), np.uint64),
            np.zeros((n_replicas, model.dim if momentum else 0)),
            np.zeros((n_replicas, model.dim if noise_kind == _t.NOISE_LM else 0)),
            np.zeros((n_replicas, model.n_samples if batch else 0), np.int64),
            np.zeros(n_replicas, np.int64),
            np.zeros((n_replicas, k if project else 0, model.dim)))


def _refresh_projectors(model, scheme, theta, alive, out):
    """Top-k Hessian eigenvectors of each live replica, by Lanczos on compiled HVPs."""
    from .hessian import hessian_eigenpairs
    for r in np.nonzero(alive)[0]:
        out[r] = hessian_eigenpairs(model, theta[r], k=scheme.k, tol=1e-8).vectors.T


def _run_chunks(run, args, state, fresh, k0, n_replicas, stream_args, block=1):
    """Replicas are split into contiguous chunks run by the nogil compiled loop on a thread
    pool; each replica runs whole inside one chunk on its own stream, so chunking cannot
    change it. Chunk edges fall on multiples of ``block`` (streaming statistics accumulate
    per block of replicas), so a block is never split between threads."""
    n_blocks = -(-n_replicas // block)
    n_threads = min(numba.get_num_threads(), n_blocks)
    edges = np.minimum(np.linspace(0, n_blocks, n_threads + 1).astype(np.int64) * block, n_replicas)
    call = lambda i: run(*args, edges[i], edges[i + 1], *state, fresh, k0, *stream_args)  # noqa: E731
    if n_threads == 1:
        call(0)
    else:
        with concurrent.futures.ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(call, range(n_threads)))


def _check_observers(observe, n_steps, momentum=False):
    if observe is None:
        return {}
    if not isinstance(observe, dict):
        raise TypeError("observe: expected a dict {name: (every, function)}, "
                        f"got {type(observe).__name__}")
    out = {}
    for name, spec in observe.items():
        if not (isinstance(spec, tuple) and len(spec) in (2, 3) and callable(spec[1])
                and spec[2:] in ((), ("velocity",))):
            raise TypeError(f"observe[{name!r}]: expected (every, function) or (every, function, "
                            f"'velocity'), got {spec!r}")
        if spec[2:] and not momentum:
            raise ValueError(f"observe[{name!r}]: 'velocity' needs a scheme with momentum > 0")
        out[str(name)] = (_v.integer(f"observe[{name!r}] every", spec[0], low=1, high=n_steps),
                          spec[1], bool(spec[2:]))
    return out


def _observe(fn, name, theta, alive, velocity=None):
    """Apply an observer to the live replicas; diverged ones get NaN. ``None`` once every
    replica has diverged (the function is not called on an empty set)."""
    if not alive.any():
        return None
    values = np.asarray(fn(theta[alive]) if velocity is None else
                        fn(theta[alive], velocity[alive]), dtype=np.float64)
    if values.shape[:1] != (int(alive.sum()),):
        raise ValueError(f"observe[{name!r}]: the function must return one row per replica, "
                         f"got shape {values.shape} for {int(alive.sum())} replicas")
    out = np.full((theta.shape[0],) + values.shape[1:], np.nan)
    out[alive] = values
    return out


def _stack_observations(values, n_replicas):
    """Stack one observer's rows; observations made after every replica diverged are NaN with
    the shape of the others."""
    shape = next((v.shape for v in values if v is not None), (n_replicas,))
    return np.stack([np.full(shape, np.nan) if v is None else v for v in values])


def _progress_bar(total, unit):
    from .progress import ProgressBar
    return ProgressBar(total, unit)


def _version():
    from . import __version__
    return __version__
