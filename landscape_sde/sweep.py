"""Parameter sweeps over grids of cells, stored cell by cell in a resumable zarr store.

``sweep(run_cell, grid, store)`` calls ``run_cell(**params, rng=seed)`` for every cell of the
grid (the Cartesian product of the named axes, e.g. ``lr × batch_size × seed``) and writes the
named observables it returns into an :class:`xarray.Dataset` stored in zarr, as the cells
finish. The store is the state of the sweep:

- Layout: one variable per observable with dims ``(*grid axes, *observable axes)``, chunk size
  1 along every grid axis (each cell owns its chunks, so writing one cell never rewrites
  another's data); ``status`` per cell (0 pending, 1 done, 2 diverged, 3 failed; names in
  ``attrs["status_codes"]``), ``error`` (the traceback of a failed cell, else ""), ``seconds``
  (wall time of the cell); ``attrs`` hold the grid, the config, the root seed and the
  versions.
- Commit protocol: a cell's observables are written first, its status last. Zarr's local store
  writes each chunk to a temporary file and renames it, so a kill at any moment leaves every
  chunk either old or new, and a cell whose status is not written is still "pending".
- Resume: rerunning the same call (or CLI command) reopens the store, checks that grid, seed and
  config are the same, and runs only the pending cells (and the failed ones with
  ``retry_failed=True``): nothing finished is recomputed or lost.
- Seeds: the cell at grid index ``(i, j, k)`` gets ``SeedSequence(entropy, spawn_key=(i, j,
  k))``, so its result does not depend on where, when or in which order it ran, on how many
  workers there are, or on cells added to the end of an axis later.
- A cell that raises is recorded as failed with its traceback and the sweep goes on. A cell is
  "diverged" when it returns an observable ``diverged`` that is nonzero everywhere.

Execution: by default cells run one after another in this process, each using numba's threads
for its replicas; ``processes=n`` runs them on a pool of ``n`` spawned processes (on the 2-core
development machine it never beat the default, see ``benchmarks/README.md``: it is meant for
machines with more cores than a cell's replicas can use); ``client=`` a
:class:`dask.distributed.Client` runs them on a Dask cluster. Only this process writes the
store, in the order results arrive; the stored values do not depend on that order.

Observable values are stored as float64 (NaN where a cell has not run or failed; integers up to
2^53 are exact). An observable whose name is a dimension of another observable (e.g. ``t`` for
``loss_mean`` with ``dims={"loss_mean": ("t",)}``) becomes that dimension's coordinate.
"""
import asyncio
import functools
import inspect
import json
import os
import pickle
import platform
import time
import uuid
import traceback
from pathlib import Path

import numpy as np

from . import checks as _v
from .rng import as_seed_sequence

__all__ = ["sweep", "STATUS", "cell_seed"]

STATUS = {"pending": 0, "done": 1, "diverged": 2, "failed": 3}
_FORMAT = "landscape_sde.sweep/1"


def cell_seed(root, index):
    """The seed of the cell at grid index ``index`` (a tuple of ints) under ``root``."""
    root = as_seed_sequence(root)
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + tuple(
        int(i) for i in index))


def sweep(run_cell, grid, store, *, client=None, processes=None, seed=0, dims=None,
          config=None, retry_failed=False, progress=True):
    """Run ``run_cell`` on every cell of ``grid``, writing each result to the zarr ``store``.

    Parameters
    ----------
    run_cell : callable
        ``run_cell(**params) -> {name: scalar or array}``, called with one value per grid axis
        (Python scalars) and, if it accepts ``rng`` (or ``**kwargs``), ``rng=`` the cell's
        :class:`numpy.random.SeedSequence`. Arrays must have the same shape in every cell.
        Must be picklable (a module-level function or a ``functools.partial`` of one) for
        ``processes`` or ``client``.
    grid : dict
        ``{axis: values}``: 1-D sequences of distinct numbers or strings, e.g.
        ``{"lr": [0.1, 0.2], "batch_size": [1, 4, 16], "seed": range(8)}``.
    store : str or path-like
        Directory of the zarr store; created if absent, resumed if present.
    client : dask.distributed.Client, optional
        Run the cells on this Dask cluster (``pip install "landscape-sde[dask]"``).
    processes : int, optional
        Run the cells on a local pool of this many spawned processes (numba threads are split
        between them); default: in this process. As with any spawned pool, a script that uses
        it must guard its entry point with ``if __name__ == "__main__":``.
    seed : None, int or SeedSequence
        Root seed of the per-cell seeds. ``None`` draws fresh entropy, stored in the attributes
        (a resumed sweep with ``seed=None`` reuses the stored one).
    dims : dict, optional
        ``{observable: (dim names)}`` for array observables (default ``name_0, name_1, ...``).
    config : dict, optional
        JSON-serialisable description of the run (stored; a resumed sweep must match it).
    retry_failed : bool
        Also rerun cells that failed before.
    progress : bool
        Progress bar of cells on stderr.

    Returns
    -------
    xarray.Dataset
        The store, opened lazily (``xarray.open_zarr``).
    """
    import xarray as xr
    if not callable(run_cell):
        raise TypeError(f"run_cell: expected a callable, got {type(run_cell).__name__}")
    grid = _check_grid(grid)
    dims = _check_dims(dims, grid)
    config = {} if config is None else config
    try:
        config_text = json.dumps(config, sort_keys=True)
    except TypeError as exc:
        raise TypeError(f"config: expected a JSON-serialisable dict, got {config!r}") from exc
    if processes is not None:
        processes = _v.integer("processes", processes, low=1)
    if client is not None and processes is not None:
        raise ValueError("client, processes: give at most one of them")
    retry_failed = _v.boolean("retry_failed", retry_failed)
    progress = _v.boolean("progress", progress)
    try:
        store = Path(os.fspath(store))
    except TypeError:
        raise TypeError(f"store: expected a path (str or os.PathLike), got {store!r}") from None
    if client is not None or processes is not None:
        try:  # workers receive run_cell by pickle: fail now, not after the first cell
            pickle.dumps(run_cell)
        except Exception as exc:  # noqa: BLE001 - any pickling error means the same
            raise TypeError(f"run_cell: must be picklable for processes= or client= (a "
                            f"module-level function or a functools.partial of one): {exc}") from None

    root = _open_or_create(store, grid, seed, config_text)
    status = _zarr_group(store)["status"][...]
    todo = status == STATUS["pending"]
    if retry_failed:
        todo |= status == STATUS["failed"]
    cells = [tuple(int(i) for i in idx) for idx in np.argwhere(todo)]
    names = list(grid)
    tasks = [(idx, {n: _scalar(grid[n][i]) for n, i in zip(names, idx)}, cell_seed(root, idx))
             for idx in cells]
    pass_rng = _accepts_rng(run_cell)
    bar = None
    if progress:
        from .progress import ProgressBar
        bar = ProgressBar(status.size, "cells", initial=status.size - len(cells))
    writer = _Writer(store, grid, dims, failed_before=status == STATUS["failed"])
    if client is not None:
        results = _dask_results(client, run_cell, tasks, pass_rng)
    elif processes is not None and processes > 1:
        results = _pool_results(processes, run_cell, tasks, pass_rng)
    else:
        results = ((idx, _compute(run_cell, params, ss, pass_rng)) for idx, params, ss in tasks)
    try:
        for idx, outcome in results:
            writer.write(idx, outcome)
            if bar is not None:
                bar.update()
    finally:
        writer.close()
        if bar is not None:
            bar.close()
    return xr.open_zarr(store, chunks=None, consolidated=False)


_RESERVED = {"status", "error", "seconds"}  # variables the store writes itself


# --- running one cell -------------------------------------------------------------------------
def _compute(run_cell, params, seed_sequence, pass_rng):
    """``("ok", {name: ndarray}, seconds)`` or ``("failed", traceback text, seconds)``."""
    start = time.perf_counter()
    try:
        out = run_cell(**params, rng=seed_sequence) if pass_rng else run_cell(**params)
        if not isinstance(out, dict):
            raise TypeError(f"run_cell: expected a dict of observables, got {type(out).__name__}")
        values = {}
        for name, value in out.items():
            arr = np.asarray(value)
            if not isinstance(name, str) or not (np.issubdtype(arr.dtype, np.number)
                                                 or arr.dtype == bool):
                raise TypeError(f"run_cell: observable {name!r} must be named by a string and "
                                f"numeric, got {arr.dtype}")
            if name in _RESERVED or name in params:
                raise ValueError(f"run_cell: observable name {name!r} is reserved (the store's "
                                 f"{sorted(_RESERVED)} or a grid axis)")
            values[name] = arr
        return "ok", values, time.perf_counter() - start
    except Exception:  # noqa: BLE001 - a failing cell is data, the sweep goes on
        return "failed", traceback.format_exc(), time.perf_counter() - start


def _pool_results(n, run_cell, tasks, pass_rng):
    """Cells on ``n`` spawned processes (fork would copy numba's thread pool state)."""
    import concurrent.futures
    import multiprocessing
    threads = max(1, (os.cpu_count() or 1) // n)
    with concurrent.futures.ProcessPoolExecutor(
            n, mp_context=multiprocessing.get_context("spawn"),
            initializer=_set_threads, initargs=(threads,)) as pool:
        futures = {pool.submit(_compute, run_cell, params, ss, pass_rng): idx
                   for idx, params, ss in tasks}
        for future in concurrent.futures.as_completed(futures):
            yield futures[future], future.result()


def _set_threads(n):
    import numba
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def _dask_results(client, run_cell, tasks, pass_rng):
    from dask.distributed import as_completed
    futures = {}
    token = uuid.uuid4().hex[:12]  # explicit keys are cached by the scheduler: unique per call
    for idx, params, ss in tasks:
        key = f"lsde-cell-{token}-" + "-".join(map(str, idx))
        futures[client.submit(_compute, run_cell, params, ss, pass_rng, key=key, pure=False)] = idx
    for future in as_completed(list(futures)):
        yield futures[future], future.result()
        future.release()


# --- the store ----------------------------------------------------------------------------------
def _zarr_group(store, mode="r+"):
    import zarr
    return zarr.open_group(store, mode=mode)


def _versions():
    import xarray
    import zarr
    import numba
    from . import __version__
    return {"landscape_sde": __version__, "numpy": np.__version__, "numba": numba.__version__,
            "xarray": xarray.__version__, "zarr": zarr.__version__,
            "python": platform.python_version()}


def _open_or_create(store, grid, seed, config_text):
    """Create the store (status, error, seconds, grid coordinates, attributes) or check that an
    existing one belongs to the same sweep; returns the root SeedSequence."""
    import xarray as xr
    grid_text = json.dumps({k: v.tolist() for k, v in grid.items()})
    if (store / "zarr.json").exists() or (store / ".zgroup").exists():
        attrs = dict(_zarr_group(store, "r").attrs)
        if attrs.get("format") != _FORMAT:
            raise ValueError(f"store: {store} is not a landscape_sde sweep store")
        if attrs["grid"] != grid_text:
            raise ValueError(f"store: {store} holds a sweep over a different grid "
                             f"({attrs['grid']}); got {grid_text}: use another store")
        if attrs["config"] != config_text:
            raise ValueError(f"config: {store} was written with config {attrs['config']}, got "
                             f"{config_text}: use another store")
        root = np.random.SeedSequence(int(attrs["seed_entropy"]),
                                      spawn_key=tuple(attrs["seed_spawn_key"]))
        if seed is not None:
            given = as_seed_sequence(seed)
            if (given.entropy, tuple(given.spawn_key)) != (root.entropy, root.spawn_key):
                raise ValueError(f"seed: {store} was written with seed entropy "
                                 f"{root.entropy}, got {given.entropy}: use another store")
        return root
    root = as_seed_sequence(seed)
    shape = tuple(v.size for v in grid.values())
    axes = tuple(grid)
    ds = xr.Dataset(
        {"status": (axes, np.zeros(shape, np.int8)),
         "error": (axes, np.full(shape, "", dtype=object)),
         "seconds": (axes, np.full(shape, np.nan))},
        coords=dict(grid),
        attrs={"format": _FORMAT, "grid": grid_text, "config": config_text,
               "seed_entropy": str(root.entropy), "seed_spawn_key": list(root.spawn_key),
               "status_codes": json.dumps(STATUS), "versions": json.dumps(_versions())})
    ones = (1,) * len(axes)
    encoding = {name: {"chunks": ones} for name in ds.data_vars}
    ds.to_zarr(store, mode="w-", encoding=encoding, consolidated=False)
    return root


class _Writer:
    """Writes finished cells (observables first, status last); creates an observable's
    variable when its first value arrives."""

    def __init__(self, store, grid, dims, failed_before):
        self.store, self.grid, self.dims = store, grid, dims
        self.failed_before = failed_before
        self.coord_names = {d for ds in dims.values() for d in ds}
        self._open()

    def _open(self):
        # Asynchronous array handles, opened once (opening reads metadata from disk), driven
        # by this writer's own event loop: a cell's observables are written concurrently in
        # one pass, then its status (a synchronous zarr write costs ~2 ms of round trips each).
        # zarr 2 (Python 3.10) has no asynchronous API: plain synchronous writes there.
        import zarr
        if int(zarr.__version__.split(".")[0]) < 3:
            group = _zarr_group(self.store)
            self.loop, self.arrays = None, {name: group[name] for name in group.array_keys()}
            return
        import zarr.api.asynchronous as zarr_async
        if getattr(self, "loop", None) is None:
            self.loop = asyncio.new_event_loop()

        async def open_all():
            group = await zarr_async.open_group(store=str(self.store), mode="r+")
            return {name: await group.getitem(name) async for name in group.array_keys()}
        self.arrays = self.loop.run_until_complete(open_all())

    def _put(self, items, idx):
        if self.loop is None:  # zarr 2
            for name, value in items:
                self.arrays[name][idx] = value
            return

        async def put():
            await asyncio.gather(*(self.arrays[name].setitem(idx, value) for name, value in items))
        self.loop.run_until_complete(put())

    def close(self):
        if getattr(self, "loop", None) is not None:
            self.loop.close()
            self.loop = None

    def write(self, idx, outcome):
        kind, payload, seconds = outcome
        code, error = STATUS["failed"], payload if kind == "failed" else ""
        items = [("seconds", seconds)]
        if kind == "ok":
            try:
                self._ensure(payload)
                items += [(name, value) for name, value in payload.items()
                          if name not in self.coord_names]
                # "diverged": every replica diverged (a fraction 1, or all flags True); a
                # cell where only some did is data, status done
                diverged = payload.get("diverged")
                code = STATUS["diverged"] if diverged is not None and np.all(diverged == 1) \
                    else STATUS["done"]
            except ValueError as exc:  # wrong shape for this store: the cell fails
                error = f"{type(exc).__name__}: {exc}"
                items = [("seconds", seconds)]
        if error or self.failed_before[idx]:  # "" is the fill value: write it only to clear
            items.append(("error", np.array(error, dtype=object)))
        self._put(items, idx)
        self._put([("status", np.int8(code))], idx)  # last: the cell is finished only now

    def _ensure(self, values):
        import xarray as xr
        new = {n: v for n, v in values.items() if n not in self.coord_names and n not in self.arrays}
        for name, value in values.items():
            if name in self.arrays and name not in self.coord_names:
                want = self.arrays[name].shape[len(self.grid):]
                if value.shape != want:
                    raise ValueError(f"observable {name!r} has shape {value.shape}, but the "
                                     f"store holds shape {want}")
        if not new:
            return
        axes, shape = tuple(self.grid), tuple(v.size for v in self.grid.values())
        variables, coords, encoding = {}, {}, {}
        for name, value in new.items():
            vdims = self.dims.get(name, tuple(f"{name}_{k}" for k in range(value.ndim)))
            if len(vdims) != value.ndim:
                raise ValueError(f"dims[{name!r}] = {vdims} does not match the observable's "
                                 f"shape {value.shape}")
            for d, n in zip(vdims, value.shape):
                if d in values and d not in self.arrays:
                    coords[d] = (d, values[d])
            variables[name] = (axes + vdims, np.full(shape + value.shape, np.nan))
            encoding[name] = {"chunks": (1,) * len(axes) + value.shape}
        # a template of fill values: zarr writes no chunk for it, so this costs metadata only
        template = xr.Dataset(variables, coords={**dict(self.grid), **coords})
        template.attrs = dict(_zarr_group(self.store, "r").attrs)  # mode="a" rewrites them
        template.drop_vars(list(self.grid)).to_zarr(self.store, mode="a", encoding=encoding,
                                                    consolidated=False)
        self._open()


# --- argument checks --------------------------------------------------------------------------
def _check_grid(grid):
    if not isinstance(grid, dict) or not grid:
        raise TypeError(f"grid: expected a non-empty dict {{axis: values}}, got {grid!r}")
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier() or name == "rng":
            raise ValueError(f"grid: axis names must be identifiers other than 'rng', got {name!r}")
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
        if arr.ndim != 1 or arr.size == 0 or not (np.issubdtype(arr.dtype, np.number)
                                                  or arr.dtype.kind in "bU"):
            raise ValueError(f"grid[{name!r}]: expected a non-empty 1-D sequence of numbers or "
                             f"strings, got {values!r}")
        if np.unique(arr).size != arr.size:
            raise ValueError(f"grid[{name!r}]: values must be distinct, got {arr.tolist()}")
        out[name] = arr
    return out


def _check_dims(dims, grid):
    if dims is None:
        return {}
    if not isinstance(dims, dict):
        raise TypeError(f"dims: expected a dict {{observable: (dim, ...)}}, got {dims!r}")
    out = {}
    for name, ds in dims.items():
        ds = (ds,) if isinstance(ds, str) else tuple(ds)
        clash = [d for d in ds if d in grid or not isinstance(d, str)]
        if clash:
            raise ValueError(f"dims[{name!r}]: dimension names must be strings other than the "
                             f"grid axes {list(grid)}, got {clash}")
        out[name] = ds
    return out


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def _accepts_rng(fn):
    target = fn.func if isinstance(fn, functools.partial) else fn
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return "rng" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
