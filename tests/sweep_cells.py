"""Cell functions for tests/test_sweep.py (module level, so that worker processes and Dask
workers can import them: run from the repository root)."""
import os
import time

import numpy as np

import landscape_sde as lsde
from models import Quadratic

QUAD = Quadratic(np.diag([1.0, 4.0]), np.diag([1.0, 0.5]), n_samples=6)  # as test_simulate


def sgd_cell(lr, batch_size, seed, rng, n_steps=60, n_replicas=40, sleep=0.0):
    """SGD on the 2-D quadratic with streaming moments: fraction diverged, loss mean per saved
    step, final mean loss."""
    ens = lsde.simulate(QUAD, lsde.SGD(lr, batch_size), [1.0, 1.0], n_steps=n_steps,
                        n_replicas=n_replicas, save_every=10, rng=rng,
                        stream=lsde.Streaming(coords=()), divergence_bound=1e6)
    if sleep:
        time.sleep(sleep)
    alive = ~ens.diverged
    return {"diverged": ens.diverged.mean(), "t": ens.stats["t"],
            "loss_mean": ens.stats["mean"][:, -1],
            "final_loss": ens.loss[0, alive].mean() if alive.any() else np.nan}


def flaky_cell(x, rng):
    """Fails for x = 2 (a bug in one cell must not stop the sweep)."""
    if x == 2:
        raise RuntimeError("cell x=2 is broken")
    return {"y": x * 1.0 + np.random.default_rng(rng).normal(), "pid": os.getpid()}


# --- kill at every store write (tests/test_sweep.py::test_kill_at_every_store_write) -----------
KILL_GRID = {"a": [1, 2], "b": ["x", "y"]}
KILL_DIMS = {"curve": ("t",)}
CALLS = []  # cells computed in this process


def tiny_cell(a, b, rng):
    """Trivial, random and deterministic; (2, "y") fails (so the error array is written)."""
    CALLS.append((a, b))
    if (a, b) == (2, "y"):
        raise RuntimeError("cell (2, 'y') is broken")
    g = np.random.default_rng(rng)
    return {"y": a + g.normal(), "t": np.arange(3), "curve": g.normal(size=3)}


def _run_tiny(store):
    from landscape_sde.sweeps import sweep
    sweep(tiny_cell, KILL_GRID, store, seed=5, dims=KILL_DIMS, progress=False)


def _install_kill(at, counter_file=None):
    """Count every write to the file system the sweep makes (a zarr chunk or metadata file,
    a rename, a removal, a write to the lock file) and SIGKILL this process just before the
    ``at``-th one (never with ``at=None``; the count goes to ``counter_file`` at exit)."""
    import shutil
    import signal
    import threading
    import zarr.storage._local as local
    lock, count = threading.Lock(), [0]

    def point():
        with lock:
            count[0] += 1
            if count[0] == at:
                os.kill(os.getpid(), signal.SIGKILL)

    def wrap(module, name):
        original = getattr(module, name)

        def wrapped(*args, **kwargs):
            point()
            return original(*args, **kwargs)
        setattr(module, name, wrapped)
    wrap(local, "_put")
    for name in ("replace", "rename", "unlink", "rmdir", "ftruncate", "write"):
        wrap(os, name)
    wrap(shutil, "rmtree")
    return count


def _tree(store):
    """{relative path: bytes} of every file of the store but the wall times (``seconds``)."""
    out = {}
    for dirpath, _, files in os.walk(store):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), store)
            if not rel.startswith("seconds" + os.sep + "c"):
                with open(os.path.join(dirpath, name), "rb") as fh:
                    out[rel] = fh.read()
    return out


def _fork(fn, *args):
    """Run ``fn(*args)`` in a forked child (this process never touches zarr, so forking it is
    safe and costs milliseconds instead of a 2 s interpreter start); its wait status."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = fn(*args) or 0
        except BaseException:  # noqa: BLE001
            import traceback
            traceback.print_exc()
        os._exit(code)
    return os.waitpid(pid, 0)[1]


def kill_driver(workdir, max_points=400):
    """Reference sweep; then for n = 1, 2, ...: a sweep SIGKILLed before its n-th write, resumed
    and compared with the reference, until a sweep finishes before its n-th write. Prints a
    JSON summary."""
    import json
    import signal
    import zarr  # noqa: F401 - imported (not used) before forking
    import landscape_sde.sweeps  # noqa: F401
    workdir = os.path.abspath(workdir)
    _run_tiny(os.path.join(workdir, "warm.zarr"))  # first-call costs paid once, not per fork
    CALLS.clear()
    ref = os.path.join(workdir, "ref.zarr")
    count_file = os.path.join(workdir, "count")

    def reference():
        count = _install_kill(None)
        _run_tiny(ref)
        with open(count_file, "w") as fh:
            fh.write(str(count[0]))
    assert _fork(reference) == 0
    n_writes = int(open(count_file).read())

    def killed(store, n):
        _install_kill(n)
        _run_tiny(store)
        return 3  # not killed: fewer than n writes

    def resume(store, out):
        import zarr
        before = {}
        if os.path.exists(os.path.join(store, "zarr.json")):
            g = zarr.open_group(store, mode="r")
            status, seconds = g["status"][...], g["seconds"][...]
            before = {"done": (status > 0).tolist(), "seconds": seconds[status > 0].tolist()}
        _run_tiny(store)
        g = zarr.open_group(store, mode="r")
        status, seconds = g["status"][...], g["seconds"][...]
        pending_before = (int(status.size - sum(map(sum, before["done"]))) if before
                          else status.size)
        done = np.array(before["done"], bool) if before else np.zeros(status.shape, bool)
        result = {
            "equal": _tree(store) == _tree(ref),
            "calls": len(CALLS), "pending_before": pending_before,
            "seconds_kept": seconds[done].tolist() == before.get("seconds", []),
            "leftovers": sorted(f for f in os.listdir(os.path.dirname(store))
                                if f.startswith("." + os.path.basename(store))
                                or f == os.path.basename(store) + ".lock"),
            "all_finished": bool((status > 0).all())}
        with open(out, "w") as fh:
            json.dump(result, fh)

    results = []
    for n in range(1, max_points + 1):
        store = os.path.join(workdir, f"k{n}.zarr")
        wait = _fork(killed, store, n)
        if os.WIFEXITED(wait) and os.WEXITSTATUS(wait) == 3:
            break  # the sweep made fewer than n writes: every write point was killed
        assert os.WIFSIGNALED(wait) and os.WTERMSIG(wait) == signal.SIGKILL, (n, wait)
        out = os.path.join(workdir, f"k{n}.json")
        assert _fork(resume, store, out) == 0, f"resume after a kill at write {n} raised"
        with open(out) as fh:
            results.append({"n": n, **json.load(fh)})
    print(json.dumps({"n_writes": n_writes, "results": results}))


def slow_cell(x, sleep=0.5):
    """Sleeps (a sweep that is still running when a second one starts on its store)."""
    time.sleep(sleep)
    return {"y": float(x)}
