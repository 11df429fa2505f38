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
