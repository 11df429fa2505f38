"""The one entry point that runs trajectories, :func:`simulate`, in four steps: plan the
compiled segments (:func:`plan_segments`), allocate the named records of the loop, run the
segments on a thread pool, and assemble an :class:`~landscape_sde.ensemble.Ensemble`."""
import concurrent.futures
import platform
import typing

import numba
import numpy as np

from . import checks as _v
from ._kernels.codegen import trajectory_module
from ._kernels.layout import GRADIENTS, SAMPLERS, Carry, Loop, Out, Segment
from .ensemble import Ensemble
from .rng import as_seed_sequence, root_key
from .passage import predicate_of, target_record
from .streaming import Streaming

__all__ = ["simulate", "plan_segments", "save_steps"]


def simulate(model, scheme, theta0, *, n_steps, n_replicas=1, save_every=1, save_at=None,
             rng=None, divergence_bound=1e10, observe=None, stream=None, progress=False):
    """Run ``n_replicas`` independent trajectories of ``scheme`` on ``model``.

    Validates every argument in Python, allocates the outputs and runs one compiled loop over
    whole trajectories, contiguous chunks of replicas on a pool of Python threads (one per
    numba thread, ``numba.get_num_threads()``) running the nogil loop. Replica ``k`` draws from
    its own stream derived from ``(rng, k)``, so its path is bit-identical whatever the thread
    count and however many replicas run beside it.

    Parameters
    ----------
    model : landscape_sde.Model
    scheme : landscape_sde.schemes.Scheme
        ``GD``, ``SGD``, ``NSGD``, ``Langevin``, ``LeimkuhlerMatthews``,
        ``AnisotropicLangevin``, ``SME``, ``BAOAB``, ``GradientFlow`` or a scheme of your own.
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
        ``(every, function, state)`` calls ``function(theta, values)`` with the named state
        of the scheme too (``scheme.observables(model)`` lists them; e.g. ``"velocity"``, the
        heavy-ball ``v_k = θ_k − θ_{k−1}`` of a scheme with momentum, or BAOAB's velocity).
        A function that raises, or returns anything but one row of real numbers per replica,
        stops the run with an error naming the observer and the step (of the function's own
        exception type, chained to it; ``TypeError``/``ValueError`` for a bad result).
    stream : landscape_sde.Streaming, optional
        Accumulate statistics at the saved steps inside the compiled loop instead of storing
        trajectories (see :mod:`landscape_sde.streaming`): ``ensemble.stats`` holds them, and
        ``ensemble.theta``/``loss`` hold only the final state (``t = [n_steps]``). Memory does
        not grow with ``n_steps``; the statistics are bit-identical for any thread count.
    progress : bool
        Show a progress bar on stderr (steps done, ETA): ``tqdm`` when installed, a plain
        text bar otherwise (:mod:`landscape_sde.progress`). The run is split into about 20
        compiled segments carrying every replica's state, so paths are bit-identical.

    Returns
    -------
    Ensemble
    """
    _v.model(model)
    _v.scheme(scheme)
    n_steps = _v.integer("n_steps", n_steps, low=1)
    n_replicas = _v.integer("n_replicas", n_replicas, low=1)
    bound = _v.positive("divergence_bound", divergence_bound)
    steps = save_steps(n_steps, save_every, save_at)
    theta0 = _initial_state(model, theta0, n_replicas, bound)
    method = scheme.method(model)
    seed = as_seed_sequence(rng)
    observe = _check_observers(observe, n_steps, scheme, model)
    stream = _check_stream(stream, bound)
    if stream is not None:
        target_record(stream.target, model.dim, stream.stop)  # checks the set against dim
    progress = _v.boolean("progress", progress)

    # plan
    ends = {n_steps, *scheme.segment_ends(n_steps),
            *[t for every, *_ in observe.values() for t in range(0, n_steps + 1, every)],
            *(np.linspace(0, n_steps, 21).astype(np.int64)[1:].tolist() if progress else ())}
    segments = plan_segments(steps, ends)
    # allocate
    target = stream.target if stream else None
    drive = driver(model, method, target is not None, predicate_of(target))
    loop = Loop(root_key(seed), model.n_samples, method.batch_size, SAMPLERS[method.sampling], bound)
    state = method.allocate(n_replicas)
    carry = Carry.fresh(n_replicas, model.n_samples if method.permutes else 0)
    acc = (stream or Streaming(coords=())).allocate(model.dim, steps.size, n_replicas,
                                                    on=stream is not None)
    recorder = (_Streamed if stream else _Trajectories)(steps, n_replicas, model.dim)
    diverged_at = np.full(n_replicas, -1, dtype=np.int64)
    bar = _progress_bar(n_steps, "steps") if progress else None
    observations = {name: ([], []) for name in observe}
    # run
    current = theta0
    for seg in segments:
        scheme.prepare_segment(model, current, diverged_at < 0, state, seg.k0)
        out = Out(np.empty((recorder.rows(seg.save_at), n_replicas, model.dim)),
                  np.empty((recorder.rows(seg.save_at), n_replicas)), diverged_at)
        _run_chunks(drive, model.data, current, Segment(seg.save_at, seg.k0, seg.fresh, 0, 0),
                    loop, method.params, state, carry, out, acc._replace(index=seg.index))
        recorder.store(seg.save_at, out)
        current = np.ascontiguousarray(out.theta[-1])
        if bar is not None:
            bar.update(seg.k1 - bar.done)
        for name, (every, fn, field) in observe.items():
            if seg.k1 % every == 0:
                view = scheme.observe(field, model, current, state) if field else None
                observations[name][0].append(seg.k1)
                observations[name][1].append(_observe(fn, name, seg.k1, current, diverged_at < 0,
                                                      view))
    if bar is not None:
        bar.close()
    # assemble
    return Ensemble(t=recorder.t, theta=recorder.theta, loss=recorder.loss,
                    diverged=diverged_at >= 0, diverged_at=diverged_at,
                    meta=_meta(model, scheme, seed, n_steps, n_replicas, bound, stream),
                    observables={name: {"t": np.array(t, dtype=np.int64),
                                        "values": _stack_observations(v, n_replicas)}
                                 for name, (t, v) in observations.items()},
                    stats=stream.results(steps, acc) if stream else {})


# --- plan --------------------------------------------------------------------------------
class PlannedSegment(typing.NamedTuple):
    """A compiled call from step ``k0`` to ``k1``: its save steps ``save_at`` (ending with
    ``k1``), their global save indices ``index`` (−1 where ``k1`` is not a save) and whether it
    starts the run (``fresh``: step ``k0 = 0`` itself is recorded)."""
    k0: int
    k1: int
    save_at: np.ndarray
    index: np.ndarray
    fresh: bool


def save_steps(n_steps, save_every=1, save_at=None):
    """The sorted saved steps: ``0, save_every, ...`` or ``save_at``, always with ``n_steps``."""
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
    return steps if steps[-1] == n_steps else np.append(steps, np.int64(n_steps))


def plan_segments(steps, ends):
    """Split a run whose saves are ``steps`` (sorted, ending at ``n_steps``) at the steps
    ``ends`` (where Python must see the state: observers, scheme hooks, progress) into
    :class:`PlannedSegment` s covering ``[0, n_steps]`` in order. A pure function.

    Each segment saves its own steps of ``steps`` and its end; the first also saves step 0 if
    ``steps`` does. A segment of zero steps is kept only at the start (``ends`` containing 0:
    an observation of the initial state)."""
    steps = np.asarray(steps, dtype=np.int64)
    out, k0 = [], 0
    for k1 in sorted({int(k) for k in ends if 0 <= k <= steps[-1]} | {int(steps[-1])}):
        fresh = not out
        if k1 == k0 and not fresh:
            continue
        inside = steps[(steps >= k0) & (steps <= k1)] if fresh else steps[(steps > k0) & (steps <= k1)]
        seg = np.unique(np.append(inside, np.int64(k1)))
        index = np.where(np.isin(seg, steps), np.searchsorted(steps, seg), -1).astype(np.int64)
        out.append(PlannedSegment(k0, k1, seg, index, fresh))
        k0 = k1
    return out


# --- recorders ---------------------------------------------------------------------------
class _Trajectories:
    """Every saved step of every replica."""

    def __init__(self, steps, n_replicas, dim):
        self.t = steps
        self.theta = np.empty((steps.size, n_replicas, dim))
        self.loss = np.empty((steps.size, n_replicas))

    def rows(self, seg_steps):
        return seg_steps.size

    def store(self, seg_steps, out):
        keep = np.isin(seg_steps, self.t)
        self.theta[np.isin(self.t, seg_steps)] = out.theta[keep]
        self.loss[np.isin(self.t, seg_steps)] = out.loss[keep]


class _Streamed(_Trajectories):
    """Only the final state (statistics accumulate in the loop's Stream record)."""

    def __init__(self, steps, n_replicas, dim):
        super().__init__(steps[-1:], n_replicas, dim)

    def rows(self, seg_steps):
        return 1

    def store(self, seg_steps, out):
        self.theta[0], self.loss[0] = out.theta[0], out.loss[0]


# --- run ---------------------------------------------------------------------------------
def driver(model, method, passage=False, predicate=None):
    """The compiled loop ``drive`` for a model and a scheme's :class:`Method` (generated once
    per kernels, update, oracle, small dimension and first-passage predicate; see
    :mod:`landscape_sde._kernels.codegen`)."""
    return trajectory_module(model.kernels, method.update, method.init, GRADIENTS[method.gradient],
                             method.stages, method.diffusion, model.dim, passage, predicate).drive


def _run_chunks(drive, data, theta0, seg, loop, params, state, carry, out, stream):
    """Replicas are split into contiguous chunks run by the nogil compiled loop on a thread
    pool; each replica runs whole inside one chunk on its own stream, so chunking cannot
    change it. Chunk edges fall on multiples of the streaming block, so a block is never
    split between threads."""
    n_replicas, block = theta0.shape[0], stream.block
    n_blocks = -(-n_replicas // block)
    n_threads = min(numba.get_num_threads(), n_blocks)
    edges = np.minimum(np.linspace(0, n_blocks, n_threads + 1).astype(np.int64) * block, n_replicas)
    call = lambda i: drive(data, theta0, seg._replace(first=int(edges[i]), last=int(edges[i + 1])),  # noqa: E731
                           loop, params, state, carry, out, stream)
    if n_threads == 1:
        call(0)
    else:
        with concurrent.futures.ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(call, range(n_threads)))


# --- checks ------------------------------------------------------------------------------
def _initial_state(model, theta0, n_replicas, bound):
    theta0 = _v.finite_array("theta0", theta0, ndim=(1, 2))
    if theta0.shape[-1] != model.dim or (theta0.ndim == 2 and theta0.shape[0] != n_replicas):
        raise ValueError(f"theta0: expected shape ({model.dim},) or ({n_replicas}, {model.dim}) "
                         f"for a model of dim {model.dim} and n_replicas={n_replicas}, "
                         f"got {theta0.shape}")
    if np.abs(theta0).max() > bound:
        raise ValueError(f"theta0: entries must lie within divergence_bound = {bound:g}, got "
                         f"max |theta0| = {np.abs(theta0).max():g}")
    return np.ascontiguousarray(np.broadcast_to(theta0, (n_replicas, model.dim)))


def _check_stream(stream, bound):
    if stream is not None and not isinstance(stream, Streaming):
        raise TypeError(f"stream: expected a landscape_sde.Streaming or None, got {type(stream).__name__}")
    if stream is not None and stream.abs_above is not None and stream.abs_above >= bound:
        raise ValueError(f"stream: abs_above = {stream.abs_above:g} is never reached before "
                         f"divergence_bound = {bound:g} stops the replica; choose a smaller level")
    return stream


def _check_observers(observe, n_steps, scheme, model):
    if observe is None:
        return {}
    if not isinstance(observe, dict):
        raise TypeError("observe: expected a dict {name: (every, function)}, "
                        f"got {type(observe).__name__}")
    out = {}
    for name, spec in observe.items():
        if not (isinstance(spec, tuple) and len(spec) in (2, 3) and callable(spec[1])
                and all(isinstance(s, str) for s in spec[2:])):
            raise TypeError(f"observe[{name!r}]: expected (every, function) or (every, function, "
                            f"state name), got {spec!r}")
        field = spec[2] if spec[2:] else None
        if field is not None and field not in scheme.observables(model):
            hint = " (needs a scheme with momentum > 0)" if field == "velocity" else ""
            raise ValueError(f"observe[{name!r}]: {scheme.name} carries no state {field!r} here"
                             f"{hint}; it carries {list(scheme.observables(model)) or 'none'}")
        out[str(name)] = (_v.integer(f"observe[{name!r}] every", spec[0], low=1, high=n_steps),
                          spec[1], field)
    return out


# --- assemble ----------------------------------------------------------------------------
def _observe(fn, name, step, theta, alive, view=None):
    """Apply an observer to the live replicas at ``step``; diverged ones get NaN. ``None``
    once every replica has diverged (the function is not called on an empty set). An error
    of the function, or a result that is not one row of real numbers per live replica, is
    reported with the observer's name and the step."""
    if not alive.any():
        return None
    where = f"observe[{name!r}]: at step {step}, the function"
    try:
        raw = fn(theta[alive]) if view is None else fn(theta[alive], view[alive])
    except Exception as exc:  # same type where it takes a message, chained to the original
        message = f"{where} raised {type(exc).__name__}: {exc}"
        try:
            error = type(exc)(message)
        except Exception:  # noqa: BLE001 - a constructor that needs other arguments
            error = RuntimeError(message)
        raise error from exc
    try:
        values = _v.real_array(where, raw)
    except TypeError as exc:
        raise TypeError(f"{where} returned {type(raw).__name__} {_v.short_repr(raw)}; expected "
                        "real numbers, one row per replica") from exc.__cause__
    if values.shape[:1] != (int(alive.sum()),):
        raise ValueError(f"{where} must return one row per replica, got "
                         f"{type(raw).__name__} {_v.short_repr(raw)} of shape {values.shape} "
                         f"for {int(alive.sum())} replicas")
    out = np.full((theta.shape[0],) + values.shape[1:], np.nan)
    out[alive] = values
    return out


def _stack_observations(values, n_replicas):
    """Stack one observer's rows; observations made after every replica diverged are NaN with
    the shape of the others."""
    shape = next((v.shape for v in values if v is not None), (n_replicas,))
    return np.stack([np.full(shape, np.nan) if v is None else v for v in values])


def _meta(model, scheme, seed, n_steps, n_replicas, bound, stream):
    from . import __version__
    return {
        "model": {"name": model.name, "dim": model.dim, "n_samples": model.n_samples,
                  "params": model.params()},
        "scheme": {"name": scheme.name, "step": scheme.step, "order": scheme.order,
                   "noise": scheme.noise, "params": scheme.params()},
        "n_steps": n_steps, "n_replicas": n_replicas, "divergence_bound": bound,
        "stream": stream.meta() if stream else None,
        "seed": {"entropy": str(seed.entropy), "spawn_key": list(seed.spawn_key)},
        "versions": {"landscape_sde": __version__, "numpy": np.__version__,
                     "numba": numba.__version__, "python": platform.python_version()},
    }


def _progress_bar(total, unit):
    from .progress import progress_bar
    return progress_bar(total, unit)
