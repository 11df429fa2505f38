"""Command line: ``python -m landscape_sde sweep CONFIG.toml [key=value ...] [options]``.

The TOML file describes one sweep (see :func:`landscape_sde.sweep`;
``examples/sweep_quadratic.toml`` is a complete one)::

    cell = "figures.sweep_phase_diagram:quadratic_cell"   # module:function, importable from here
    store = "quadratic_sweep.zarr"
    seed = 0

    [grid]                 # axis = list, or a table {linspace|logspace|geomspace|range = [...]}
    lr = {linspace = [0.3, 0.7, 9]}
    batch_size = [1, 4, 16]
    seed = {range = [0, 2]}

    [params]               # fixed keyword arguments of every cell
    h = [1.0, 4.0]
    n_steps = 1000

    [dims]                 # dimension names of array observables, e.g. loss_mean = ["t"]

``key=value`` arguments override entries, with dotted keys and TOML values, the habit of
Hydra without depending on it: ``grid.lr=[0.1,0.2]``, ``params.n_steps=500``,
``store=other.zarr`` (a value that is not valid TOML is taken as a string). Rerunning the same
command resumes the sweep. ``--scheduler tcp://host:8786`` runs the cells on a Dask cluster,
``--processes N`` on a local process pool. Resuming checks that the cell function is the one
that wrote the store (name, source, parameters); ``--allow-changed-cell`` resumes anyway.
"""
import argparse
import functools
import importlib
import sys

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

_KEYS = {"cell", "store", "seed", "grid", "params", "dims"}


def load_config(path, overrides=()):
    """The sweep config of a TOML file with ``key=value`` overrides applied (a dict)."""
    with open(path, "rb") as fh:
        config = tomllib.load(fh)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override: expected key=value, got {item!r}")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        *parents, leaf = key.split(".")
        node = config
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"override: {key!r}: {p!r} is not a table")
        node[leaf] = value
    unknown = set(config) - _KEYS
    if unknown:
        raise ValueError(f"config: unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    for key in ("cell", "store", "grid"):
        if key not in config:
            raise ValueError(f"config: {key!r} is required")
    return config


def expand_axis(name, spec):
    """A grid axis from a list or ``{linspace|logspace|geomspace|range = [...]}``."""
    if isinstance(spec, list):
        return spec
    makers = {"linspace": np.linspace, "logspace": np.logspace, "geomspace": np.geomspace,
              "range": np.arange}
    if isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in makers:
        kind, args = next(iter(spec.items()))
        if kind != "range" and len(args) == 3:
            args = [args[0], args[1], int(args[2])]
        return makers[kind](*args).tolist()
    raise ValueError(f"grid.{name}: expected a list or a table with one of {sorted(makers)}, "
                     f"got {spec!r}")


def resolve_cell(text):
    """``"module:function"`` -> the function."""
    module, sep, attr = str(text).partition(":")
    if not sep:
        raise ValueError(f"cell: expected 'module:function', got {text!r}")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cell: cannot import {text!r}: {exc}") from exc


def run_sweep(config, *, scheduler=None, processes=None, retry_failed=False, progress=True,
              check_cell=True):
    """Run (or resume) the sweep described by ``config``; returns the dataset."""
    from .sweeps import sweep
    fn = resolve_cell(config["cell"])
    params = config.get("params", {})
    run_cell = functools.partial(fn, **params) if params else fn
    grid = {k: expand_axis(k, v) for k, v in config["grid"].items()}
    if set(params) & set(grid):
        raise ValueError(f"params: {sorted(set(params) & set(grid))} are also grid axes; "
                         "give each parameter either a fixed value or an axis")
    stored = {k: config[k] for k in ("cell", "params", "dims") if k in config}
    client = None
    if scheduler:
        from dask.distributed import Client
        client = Client(scheduler)
    try:
        return sweep(run_cell, grid, config["store"], client=client, processes=processes,
                     seed=config.get("seed", 0), dims=config.get("dims"), config=stored,
                     retry_failed=retry_failed, progress=progress, check_cell=check_cell)
    finally:
        if client is not None:
            client.close()


def main(argv=None):
    from .sweeps import StoreInUseError
    parser = argparse.ArgumentParser(prog="python -m landscape_sde", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sweep", help="run or resume a sweep from a TOML config")
    p.add_argument("config", help="TOML file")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:port)")
    p.add_argument("--processes", type=int, help="local process pool of this size")
    p.add_argument("--retry-failed", action="store_true", help="rerun cells that failed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--allow-changed-cell", action="store_true",
                   help="resume even if the cell function's source or parameters changed")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        parser.error(str(exc))
    try:
        ds = run_sweep(config, scheduler=args.scheduler, processes=args.processes,
                       retry_failed=args.retry_failed, progress=not args.no_progress,
                       check_cell=not args.allow_changed_cell)
    except (TypeError, ValueError, PermissionError, StoreInUseError) as exc:
        # bad config, a store of another sweep, an unwritable store or one in use
        parser.error(str(exc))
    from .sweeps import STATUS
    codes = {v: k for k, v in STATUS.items()}
    counts = np.bincount(ds["status"].values.ravel(), minlength=4)
    print(f"{config['store']}: " + ", ".join(f"{counts[c]} {codes[c]}" for c in range(4)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
