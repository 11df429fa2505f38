"""The one entry point that runs trajectories: :func:`simulate`."""
import concurrent.futures
import platform

import numba
import numpy as np

from . import _validation as _v
from ._kernels.codegen import trajectory_driver
from .ensemble import Ensemble
from .model import Model
from .rng import as_seed_sequence, root_key
from .schemes.base import Scheme

__all__ = ["simulate"]


def simulate(model, scheme, theta0, *, n_steps, n_replicas=1, save_every=1, save_at=None,
             rng=None, divergence_bound=1e10):
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

    run = trajectory_driver(model.kernels, *structure, model.dim)
    theta = np.empty((steps.size, n_replicas, model.dim))
    loss = np.empty((steps.size, n_replicas))
    diverged_at = np.empty(n_replicas, dtype=np.int64)
    args = (model.data, theta0, model.n_samples, iparams, fparams, root_key(seed), steps,
            bound, theta, loss, diverged_at)
    # Replicas are split into contiguous chunks run by a nogil compiled loop on a thread pool;
    # each replica runs whole inside one chunk on its own stream, so chunking cannot change it.
    n_threads = min(numba.get_num_threads(), n_replicas)
    edges = np.linspace(0, n_replicas, n_threads + 1).astype(np.int64)
    if n_threads == 1:
        run(*args, 0, n_replicas)
    else:
        with concurrent.futures.ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(lambda i: run(*args, edges[i], edges[i + 1]), range(n_threads)))

    meta = {
        "model": {"name": model.name, "dim": model.dim, "n_samples": model.n_samples,
                  "params": model.params()},
        "scheme": {"name": scheme.name, "step": scheme.step, "order": scheme.order,
                   "noise": scheme.noise, "params": scheme.params()},
        "n_steps": n_steps, "n_replicas": n_replicas, "divergence_bound": bound,
        "seed": {"entropy": str(seed.entropy), "spawn_key": list(seed.spawn_key)},
        "versions": {"landscape_sde": _version(), "numpy": np.__version__,
                     "numba": numba.__version__, "python": platform.python_version()},
    }
    return Ensemble(t=steps, theta=theta, loss=loss, diverged=diverged_at >= 0,
                    diverged_at=diverged_at, meta=meta)


def _version():
    from . import __version__
    return __version__
