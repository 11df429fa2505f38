"""Sweeps: a grid of (η, b, seed) cells, each SGD on the 2-D quadratic finite sum (N = 32) with
10³ replicas × 10³ steps, reduced to the mean loss at every 10th step and the fraction
diverged. Compared in one process:

- ``loop``: a plain Python loop over cells calling ``simulate`` (trajectories saved every 10
  steps, reduced with NumPy, results kept in a NumPy array: no store, no resume);
- ``sweep``: ``lsde.sweep`` in this process, statistics streamed inside the compiled loop,
  every cell written to a zarr store as it finishes;
- ``sweep --processes 2``: the same on a pool of 2 processes of 1 numba thread each;
- store overhead per cell: ``lsde.sweep`` of a cell that returns precomputed observables of
  the same shapes (wall time per cell = bookkeeping + zarr writes).

    python -m benchmarks.bench_sweep [--lrs 32 --batches 32 --seeds 8] [--skip-loop]

The full grid is 32 × 32 × 8 = 8192 cells; a sub-grid gives per-cell times to extrapolate.
"""
import argparse
import functools
import tempfile
import time

import numpy as np

import landscape_sde as lsde
from benchmarks._common import machine
from models import Quadratic

MODEL = Quadratic(np.diag([1.0, 4.0]), np.diag([1.0, 0.5]), n_samples=32)


def streamed_cell(lr, batch_size, seed, rng, n_steps=1000, n_replicas=1000):
    ens = lsde.simulate(MODEL, lsde.SGD(lr, batch_size), [1.0, 1.0], n_steps=n_steps,
                        n_replicas=n_replicas, save_every=10, rng=rng,
                        stream=lsde.Streaming(coords=()))
    return {"loss_mean": ens.stats["mean"][:, -1], "diverged": ens.diverged.mean()}


def stored_cell(lr, batch_size, seed, rng, n_steps=1000):
    """Store-overhead probe: observables of the same shapes, no simulation."""
    return {"loss_mean": np.full(n_steps // 10 + 1, lr), "diverged": 0.0}


def plain_loop(grid, n_steps=1000, n_replicas=1000):
    lrs, bs, seeds = grid["lr"], grid["batch_size"], grid["seed"]
    out = np.empty((len(lrs), len(bs), len(seeds), n_steps // 10 + 1))
    for i, lr in enumerate(lrs):
        for j, b in enumerate(bs):
            for k, s in enumerate(seeds):
                ens = lsde.simulate(MODEL, lsde.SGD(lr, b), [1.0, 1.0], n_steps=n_steps,
                                    n_replicas=n_replicas, save_every=10,
                                    rng=np.random.SeedSequence(0, spawn_key=(i, j, k)))
                out[i, j, k] = np.nanmean(ens.loss, axis=1)
    return out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--lrs", type=int, default=32)
    p.add_argument("--batches", type=int, default=32)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--skip-loop", action="store_true")
    p.add_argument("--skip-pool", action="store_true")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    grid = {"lr": np.linspace(0.02, 0.45, a.lrs).tolist(),
            # evenly spaced in 1..32: a sub-grid has the full grid's mean cost per cell
            "batch_size": np.unique(np.linspace(1, 32, a.batches).round().astype(int)).tolist(),
            "seed": list(range(a.seeds))}
    n = int(np.prod([len(v) for v in grid.values()]))
    print(machine())
    print(f"grid {len(grid['lr'])} x {len(grid['batch_size'])} x {len(grid['seed'])} = {n} cells, "
          "1000 replicas x 1000 steps each (SGD, 2-D quadratic, N = 32)")
    streamed_cell(0.1, 2, 0, 0, n_steps=10, n_replicas=4)  # compile outside the timings
    lsde.simulate(MODEL, lsde.SGD(0.1, 2), [1.0, 1.0], n_steps=10, n_replicas=4)
    # Modes interleaved in rounds: the machine is shared, its speed drifts over minutes; the
    # best of the rounds and the spread are reported.
    times = {}
    compute, store = [], []
    for r in range(a.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            if not a.skip_loop:
                start = time.perf_counter()
                plain_loop(grid)
                times.setdefault("loop", []).append(time.perf_counter() - start)
            start = time.perf_counter()
            ds = lsde.sweep(streamed_cell, grid, f"{tmp}/local.zarr", progress=False)
            times.setdefault("sweep", []).append(time.perf_counter() - start)
            compute.append(float(ds["seconds"].sum()))
            if not a.skip_pool:
                start = time.perf_counter()
                lsde.sweep(streamed_cell, grid, f"{tmp}/pool.zarr", processes=2, progress=False)
                times.setdefault("sweep, 2 processes", []).append(time.perf_counter() - start)
            start = time.perf_counter()
            lsde.sweep(stored_cell, grid, f"{tmp}/store.zarr", progress=False)
            store.append(time.perf_counter() - start)
    results = {name: min(ts) for name, ts in times.items()}
    for name, ts in times.items():
        print(f"  {name:20s} rounds: " + ", ".join(f"{t:.2f}" for t in ts) + " s")
    k = int(np.argmin(times["sweep"]))
    compute, store = compute[k], min(store)
    base = results.get("loop")
    for name, t in results.items():
        ratio = f", {base / t:4.2f}x the loop" if base else ""
        print(f"  {name:20s} best {t:8.2f} s  ({1e3 * t / n:7.2f} ms/cell{ratio})")
    print(f"  sweep: compute inside cells {compute:.2f} s, bookkeeping + store "
          f"{results['sweep'] - compute:.2f} s ({1e3 * (results['sweep'] - compute) / n:.2f} ms/cell)")
    print(f"  store overhead alone (cell returns precomputed observables): {store:.2f} s, "
          f"{1e3 * store / n:.2f} ms/cell")
    if n < 8192:
        print("  extrapolated to 32 x 32 x 8 = 8192 cells: " + ", ".join(
            f"{name} {t * 8192 / n / 60:.1f} min" for name, t in results.items()))


if __name__ == "__main__":
    main()
