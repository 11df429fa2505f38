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
- Commit protocol: the store is built under a temporary name next to it (status, error,
  seconds, grid coordinates, attributes) and renamed into place, so it exists complete or not
  at all. A cell's observables (and, the first time, their coordinates) are written first, its
  status last. Zarr's local store writes each chunk to a temporary file and renames it, so a
  kill at any moment leaves every chunk either old or new, and a cell whose status is not
  written is still "pending". Tested by a SIGKILL at every single store write of a small sweep.
- Resume: rerunning the same call (or CLI command) reopens the store, checks that grid, seed,
  config and the cell function (``attrs["cell"]``: its qualified name, a hash of its source,
  its ``functools.partial`` arguments, defaults and closure) are the same and that the grid
  coordinates are intact, and runs only the pending cells (and the failed ones with
  ``retry_failed=True``): nothing finished is recomputed or lost.
- One writer: a sweep holds the lock file ``<store>.lock`` (owner pid and host; an OS lock
  released when the process dies, however it dies) while it runs; a second sweep on the same
  store is refused with :class:`StoreInUseError`.
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
import errno
import functools
import hashlib
import inspect
import json
import numbers
import os
import pickle
import platform
import re
import shutil
import socket
import sys
import time
import uuid
import traceback
from pathlib import Path

import numpy as np

from . import checks as _v
from .rng import as_seed_sequence

__all__ = ["sweep", "STATUS", "cell_seed", "StoreInUseError"]

STATUS = {"pending": 0, "done": 1, "diverged": 2, "failed": 3}
_FORMAT = "landscape_sde.sweep/1"


class StoreInUseError(RuntimeError):
    """Another process is running a sweep on this store (it holds ``<store>.lock``)."""


def cell_seed(root, index):
    """The seed of the cell at grid index ``index`` (a tuple of ints) under ``root``."""
    root = as_seed_sequence(root)
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + tuple(
        int(i) for i in index))


def sweep(run_cell, grid, store, *, client=None, processes=None, seed=0, dims=None,
          config=None, retry_failed=False, progress=True, check_cell=True):
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
        Directory of the zarr store; created if absent (or an empty directory), resumed if
        present. Its parent must be writable: the lock file ``<store>.lock`` and, while the
        store is being created, ``.<name>.creating-*`` are written there.
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
        Progress bar of cells on stderr (``tqdm`` when installed, else a plain text bar).
    check_cell : bool
        On resume, refuse a ``run_cell`` whose fingerprint (qualified name, source hash,
        partial arguments, defaults, closure) differs from the one that wrote the store (its
        results would be mixed with the stored ones). ``False`` resumes anyway (the stored
        fingerprint is kept). It does not see the globals the function reads.

    Raises
    ------
    StoreInUseError
        Another process is running a sweep on ``store``.
    ValueError, PermissionError
        ``store`` is a file, not writable, or a store of another sweep; raised before any cell
        runs.

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
    _check_signature(run_cell, grid)
    config = {} if config is None else config
    try:
        config_text = json.dumps(config, sort_keys=True) if isinstance(config, dict) else None
    except TypeError:
        config_text = None
    if config_text is None:
        raise TypeError(f"config: expected a JSON-serialisable dict, got {config!r}")
    if not (seed is None or isinstance(seed, np.random.SeedSequence)):
        seed = _v.integer("seed", seed, low=0)
    if processes is not None:
        processes = _v.integer("processes", processes, low=1)
    if client is not None and processes is not None:
        raise ValueError("client, processes: give at most one of them")
    retry_failed = _v.boolean("retry_failed", retry_failed)
    progress = _v.boolean("progress", progress)
    check_cell = _v.boolean("check_cell", check_cell)
    try:
        store = Path(os.fspath(store))
    except TypeError:
        raise TypeError(f"store: expected a path (str or os.PathLike), got {store!r}") from None
    _check_store_path(store)
    fingerprint = _fingerprint(run_cell)
    if client is not None or processes is not None:
        try:  # workers receive run_cell by pickle: fail now, not after the first cell
            pickle.dumps(run_cell)
        except Exception as exc:  # noqa: BLE001 - any pickling error means the same
            raise TypeError(f"run_cell: must be picklable for processes= or client= (a "
                            f"module-level function or a functools.partial of one): {exc}") from None

    with _StoreLock(store):
        _run(store, run_cell, grid, dims, seed, config_text, fingerprint, check_cell,
             client, processes, retry_failed, progress)
    return xr.open_zarr(store, chunks=None, consolidated=False)


def _run(store, run_cell, grid, dims, seed, config_text, fingerprint, check_cell, client,
         processes, retry_failed, progress):
    root = _open_or_create(store, grid, seed, config_text, fingerprint, check_cell)
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
        from .progress import progress_bar
        bar = progress_bar(status.size, "cells", initial=status.size - len(cells))
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


def _check_store_path(store):
    """``store`` must be a directory (or absent, under a directory) that this process can
    write: checked before any cell runs."""
    allowed = "expected a directory (a sweep store or an empty one) or a path that does not exist"
    if store.exists() and not store.is_dir():
        raise ValueError(f"store: {store} is an existing file; {allowed}")
    parent = Path(os.path.abspath(store)).parent
    ancestor = parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"store: {store}: {ancestor} is a file, not a directory; {allowed}")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(store, parent, exc) from exc
    for where in (parent, store) if store.is_dir() else (parent,):
        probe = where / f".{store.name}.probe-{uuid.uuid4().hex}"
        try:  # os.access is not enough: root, read-only mounts, ACLs
            os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            probe.unlink(missing_ok=True)  # a kill here leaves it: removed by the next sweep
        except OSError as exc:
            raise _unwritable(store, where, exc) from exc


def _unwritable(store, where, exc):
    text = (f"store: cannot write to {where} ({exc.strerror or exc}); expected a writable "
            f"directory for {store} and its lock file")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermissionError(text)
    return OSError(text)


class _StoreLock:
    """``<store>.lock`` next to the store, holding the owner's pid and host.

    With ``fcntl`` (POSIX) the file is also locked with ``flock``, which the OS releases when
    the owner dies (even by SIGKILL): a lock file whose lock is not held is stale and taken
    over. Without it (Windows, or a file system without locks) the file's existence is the
    lock; one left by a dead pid of this host is taken over.
    """

    def __init__(self, store):
        self.store = store
        store = Path(os.path.abspath(store))
        self.path = store.with_name(store.name + ".lock")
        self.fd = None

    def _info(self):
        return json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}).encode()

    def _owner(self):
        try:
            owner = json.loads(self.path.read_text())
            return owner if isinstance(owner, dict) else {}
        except (OSError, ValueError):
            return {}

    def _refuse(self, owner, hint):
        who = (f"process {owner.get('pid', '?')} on host {owner.get('host', '?')} (since "
               f"{owner.get('since', '?')})") if owner else "another process"
        return StoreInUseError(
            f"store: {self.store} is in use by {who}: its lock file {self.path} is held. Two "
            f"sweeps writing one store would race; wait for that sweep to finish or use "
            f"another store{hint}")

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            fcntl = None
        while fcntl is not None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise self._refuse(self._owner(), "") from None
                fcntl = None  # no locks on this file system: the file's existence is the lock
                break
            try:  # a releasing owner unlinks the file: lock the file that is at the path
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, self._info())
            self.fd = fd
            return self
        for _ in range(100):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner.get("host") == socket.gethostname() and not _alive(owner.get("pid")):
                    self.path.unlink(missing_ok=True)  # stale: its owner is dead
                    continue
                raise self._refuse(owner, f"; if no sweep is running on it, delete {self.path}")
            os.write(fd, self._info())
            os.close(fd)
            return self
        raise self._refuse(self._owner(), f"; if no sweep is running on it, delete {self.path}")

    def __exit__(self, *exc):
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # before unlocking: see the inode check
            os.close(self.fd)
            self.fd = None
        elif self._owner().get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)


def _alive(pid):
    if not isinstance(pid, int) or pid <= 0 or sys.platform == "win32":
        return True  # cannot tell (os.kill would terminate it on Windows): assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _fingerprint(run_cell):
    """What identifies the cell function: qualified name, a hash of its source, its partial
    arguments, defaults and closure values (JSON-serialisable)."""
    args, kwargs, fn = (), {}, run_cell
    while isinstance(fn, functools.partial):
        args, kwargs, fn = fn.args + args, {**fn.keywords, **kwargs}, fn.func
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn) \
        else type(fn)
    try:
        source = hashlib.sha256(inspect.getsource(target).encode()).hexdigest()[:16]
    except (OSError, TypeError):
        source = None
    code = getattr(fn, "__func__", fn)
    closure = getattr(code, "__closure__", None) or ()
    names = getattr(getattr(code, "__code__", None), "co_freevars", ())
    return {"name": f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}",
            "source_sha256": source,
            "args": _describe(list(args)), "kwargs": _describe(kwargs),
            "defaults": _describe(list(getattr(code, "__defaults__", None) or ())),
            "kwdefaults": _describe(getattr(code, "__kwdefaults__", None) or {}),
            "closure": _describe({n: _cell_contents(c) for n, c in zip(names, closure)})}


def _cell_contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # empty cell
        return None


def _describe(value):
    """A JSON value that changes when ``value`` does (arrays and objects by hash)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, np.ndarray) and value.dtype != object:
        return {"ndarray": str(value.dtype), "shape": list(value.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]}
    if inspect.isfunction(value) or inspect.isclass(value):
        return f"{value.__module__}.{value.__qualname__}"
    text = repr(value)
    if " at 0x" not in text:
        return text
    try:  # a repr naming a memory address differs between runs: hash the object's pickle
        return {type(value).__qualname__: hashlib.sha256(pickle.dumps(value)).hexdigest()[:16]}
    except Exception:  # noqa: BLE001 - unpicklable: its type is all that is comparable
        return f"{type(value).__module__}.{type(value).__qualname__}"


def _check_fingerprint(store, stored, given):
    if stored is None:  # written before fingerprints were recorded
        return
    stored = json.loads(stored)
    diffs = [f"{k}: stored {json.dumps(stored.get(k))}, given {json.dumps(given.get(k))}"
             for k in sorted(set(stored) | set(given))
             if json.dumps(stored.get(k), sort_keys=True) != json.dumps(given.get(k), sort_keys=True)]
    if diffs:
        raise ValueError(f"run_cell: {store} was written by another cell function or other "
                         f"parameters ({'; '.join(diffs)}); resuming would mix the two in one "
                         f"store: use another store, or pass check_cell=False (CLI: "
                         f"--allow-changed-cell) to resume anyway")


_ZARR_TEMP = re.compile(r"(\.[0-9a-f]{32}\.partial|\.partial\.[0-9a-f]{32})$")


def _open_or_create(store, grid, seed, config_text, fingerprint, check_cell):
    """Create the store (status, error, seconds, grid coordinates, attributes) atomically, or
    check that an existing one belongs to the same sweep and is intact; returns the root
    SeedSequence. Called with the store's lock held."""
    grid_text = json.dumps({k: v.tolist() for k, v in grid.items()})
    _remove_leftovers(store)
    if not ((store / "zarr.json").exists() or (store / ".zgroup").exists()):
        if store.is_dir() and any(store.iterdir()):
            raise ValueError(f"store: {store} is a non-empty directory that is not a zarr store; "
                             "expected a sweep store, an empty directory or a new path")
        return _create(store, grid, seed, grid_text, config_text, fingerprint)
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
    if check_cell:
        _check_fingerprint(store, attrs.get("cell"), fingerprint)
    _check_layout(store, grid)
    return root


def _check_layout(store, grid):
    """The arrays and grid coordinates written at creation are there and hold the grid."""
    group = _zarr_group(store, "r")
    arrays = set(group.array_keys())
    shape = tuple(v.size for v in grid.values())
    problems = [f"{n!r} missing" for n in ("status", "error", "seconds", *grid) if n not in arrays]
    problems += [f"{n!r} has shape {group[n].shape}, expected {shape}"
                 for n in ("status", "error", "seconds") if n in arrays and group[n].shape != shape]
    for name, values in grid.items():
        if name in arrays and np.asarray(group[name][...]).tolist() != values.tolist():
            problems.append(f"coordinate {name!r} holds {np.asarray(group[name][...]).tolist()}, "
                            f"expected {values.tolist()}")
    if problems:
        raise ValueError(f"store: {store} is damaged ({'; '.join(problems)}); it was not written "
                         "by a complete sweep of this version: use another store")


def _remove_leftovers(store):
    """Half-built stores of killed creations next to ``store``, and zarr's temporary chunk
    files inside it (a kill between writing one and renaming it): nobody else writes here
    while the lock is held."""
    parent = Path(os.path.abspath(store)).parent
    for tmp in parent.glob(f".{_glob_escape(store.name)}.creating-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    for probe in parent.glob(f".{_glob_escape(store.name)}.probe-*"):
        probe.unlink(missing_ok=True)
    if store.is_dir():
        for dirpath, _, files in os.walk(store):
            for name in files:
                if _ZARR_TEMP.search(name):
                    os.unlink(os.path.join(dirpath, name))


def _glob_escape(text):
    return re.sub(r"([*?\[])", r"[\1]", text)


def _create(store, grid, seed, grid_text, config_text, fingerprint):
    """Build the store under a temporary name next to it, then rename it into place."""
    import xarray as xr
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
               "status_codes": json.dumps(STATUS), "versions": json.dumps(_versions()),
               "cell": json.dumps(fingerprint, sort_keys=True)})
    ones = (1,) * len(axes)
    encoding = {name: {"chunks": ones} for name in ds.data_vars}
    absolute = Path(os.path.abspath(store))
    tmp = absolute.with_name(f".{absolute.name}.creating-{uuid.uuid4().hex[:12]}")
    try:
        ds.to_zarr(tmp, mode="w-", encoding=encoding, consolidated=False)
        if store.is_dir():
            os.rmdir(store)  # an empty directory (checked): renaming over it is not portable
        os.rename(tmp, store)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _unwritable(store, tmp.parent, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


class _Writer:
    """Writes finished cells (observables first, status last); creates an observable's
    variable when its first value arrives."""

    def __init__(self, store, grid, dims, failed_before):
        self.store, self.grid, self.dims = store, grid, dims
        self.failed_before = failed_before
        self.coord_names = {d for ds in dims.values() for d in ds}
        self.checked = {}  # coordinates read (or written) and found equal: name -> values
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
        """Write ``(name, value)`` at grid index ``idx``, or the whole array for a coordinate."""
        sel = {name: Ellipsis if name in self.coord_names else idx for name, _ in items}
        if self.loop is None:  # zarr 2
            for name, value in items:
                self.arrays[name][sel[name]] = value
            return

        async def put():
            await asyncio.gather(*(self.arrays[name].setitem(sel[name], value)
                                   for name, value in items))
        self.loop.run_until_complete(put())

    def _read(self, name):
        """``(values, whether any chunk of it is written)``."""
        if self.loop is None:  # zarr 2
            arr = self.arrays[name]
            return arr[...], arr.nchunks_initialized > 0

        async def get():
            arr = self.arrays[name]
            return await arr.getitem(Ellipsis), await arr.nchunks_initialized() > 0
        return self.loop.run_until_complete(get())

    def _coordinates(self, values):
        """Items writing the coordinates among ``values`` that the store lacks (a kill between
        creating a coordinate and writing it leaves it unwritten): before the cell's status, so
        that a finished cell implies its coordinates are stored. A cell whose coordinate differs
        from the stored one fails."""
        items = []
        for name in sorted(self.coord_names & set(values) & set(self.arrays)):
            value = values[name]
            if name not in self.checked:
                stored, written = self._read(name)
                if not written:
                    items.append((name, value))
                    stored = value
                self.checked[name] = np.asarray(stored)
            stored = self.checked[name]
            if stored.shape != value.shape or not np.array_equal(stored, value):
                raise ValueError(f"coordinate {name!r} = {value.tolist()} differs from the "
                                 f"stored {stored.tolist()}")
        return items

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
                items += self._coordinates(payload)
                items += [(name, value) for name, value in payload.items()
                          if name not in self.coord_names]
                # "diverged": every replica diverged (a fraction 1, or all flags True); a
                # cell where only some did is data, status done
                diverged = payload.get("diverged")
                code = STATUS["diverged"] if diverged is not None and np.all(diverged == 1) \
                    else STATUS["done"]
            except ValueError as exc:  # wrong shape or coordinate for this store: it fails
                error = f"{type(exc).__name__}: {exc}"
                items = [("seconds", seconds)]
        if error or self.failed_before[idx]:  # "" is the fill value: write it only to clear
            items.append(("error", np.array(error, dtype=object)))
        self._put(items, idx)
        self._put([("status", np.int8(code))], idx)  # last: the cell is finished only now

    def _ensure(self, values):
        import xarray as xr
        new = {n: v for n, v in values.items() if n not in self.coord_names and n not in self.arrays}
        # coordinates are created with their first observable; also on their own, if a kill
        # came between the two
        coords = {d: (d, values[d]) for d in self.coord_names
                  if d in values and d not in self.arrays and values[d].ndim == 1}
        for name, value in values.items():
            if name in self.arrays and name not in self.coord_names:
                want = self.arrays[name].shape[len(self.grid):]
                if value.shape != want:
                    raise ValueError(f"observable {name!r} has shape {value.shape}, but the "
                                     f"store holds shape {want}")
        if not new and not coords:
            return
        axes, shape = tuple(self.grid), tuple(v.size for v in self.grid.values())
        variables, encoding = {}, {}
        for name, value in new.items():
            vdims = self.dims.get(name, tuple(f"{name}_{k}" for k in range(value.ndim)))
            if len(vdims) != value.ndim:
                raise ValueError(f"dims[{name!r}] = {vdims} does not match the observable's "
                                 f"shape {value.shape}")
            variables[name] = (axes + vdims, np.full(shape + value.shape, np.nan))
            encoding[name] = {"chunks": (1,) * len(axes) + value.shape}
        # a template of fill values: zarr writes no chunk for it, so this costs metadata only.
        # Written as a store of its own next to this one, then each array's directory renamed
        # into it: an array appears complete (metadata, attributes, a coordinate's values) or
        # not at all (xarray writes an array's attributes after creating it).
        template = xr.Dataset(variables, coords={**dict(self.grid), **coords})
        absolute = Path(os.path.abspath(self.store))
        tmp = absolute.with_name(f".{absolute.name}.creating-{uuid.uuid4().hex[:12]}")
        try:
            template.drop_vars(list(self.grid)).to_zarr(tmp, mode="w-", encoding=encoding,
                                                        consolidated=False)
            for name in sorted(variables) + sorted(coords):
                os.rename(tmp / name, self.store / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._open()


# --- argument checks --------------------------------------------------------------------------
#: names a grid axis cannot take: the cell's seed argument and the store's own variables
RESERVED = ("rng", "status", "seconds", "error")


def _value_kind(value):
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def _check_grid(grid):
    if not isinstance(grid, dict) or not grid:
        raise TypeError(f"grid: expected a non-empty dict {{axis: values}}, got {grid!r}")
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier() or name in RESERVED:
            raise ValueError(f"grid: axis names must be identifiers other than {RESERVED}, got "
                             f"{name!r}")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"grid[{name!r}]: expected a non-empty 1-D sequence of numbers or "
                            f"strings, got {values!r}")
        kinds = {_value_kind(v) for v in values} if not isinstance(values, np.ndarray) else set()
        if len(kinds) > 1:  # NumPy would turn the numbers into strings
            raise ValueError(f"grid[{name!r}]: values must be all numbers or all strings, got "
                             f"{sorted(kinds)} in {list(values)!r}")
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
        if arr.ndim != 1 or arr.size == 0 or not (np.issubdtype(arr.dtype, np.number)
                                                  or arr.dtype.kind in "bU"):
            raise ValueError(f"grid[{name!r}]: expected a non-empty 1-D sequence of numbers or "
                             f"strings, got {values!r}")
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            raise ValueError(f"grid[{name!r}]: values must be finite, got {arr.tolist()}")
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


def _check_signature(run_cell, grid):
    """``run_cell`` must accept one keyword per grid axis (and ``rng`` when it takes it)."""
    try:
        signature = inspect.signature(run_cell)
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return
    kwargs = {name: _scalar(values[0]) for name, values in grid.items()}
    if _accepts_rng(run_cell):
        kwargs["rng"] = None
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        raise TypeError(f"run_cell: cannot be called with the grid axes {list(grid)} as keyword "
                        f"arguments{' and rng' if 'rng' in kwargs else ''}: {exc} (its signature "
                        f"is {signature})") from None


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def _accepts_rng(fn):
    target = fn.func if isinstance(fn, functools.partial) else fn
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return "rng" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
