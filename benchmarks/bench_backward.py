"""Backward solves on 512²: ``FokkerPlanck.mfpt`` and ``committor`` (sparse LU with the
symmetric-pattern minimum-degree ordering and diagonal pivots) against a naive baseline in the
same run: ``scipy.sparse.linalg.spsolve`` with SuperLU's defaults (COLAMD column ordering,
partial pivoting) on the same restricted adjoint system. Both answers are compared.

    python -m benchmarks.bench_backward [--n 512]

Landscape: 2-D double well ``U = (x² − 1)² + ½(1 + 3x²) y²`` at T = 0.1 (barrier/T = 10) on
[−2, 2]²; target ``x >= 1``, source ``x <= −1``.
"""
import argparse
import time

import numpy as np
import scipy.sparse.linalg as spla

from benchmarks._common import machine
from landscape_sde.fokker_planck import FokkerPlanck, Grid


def potential(p):
    return (p[:, 0] ** 2 - 1) ** 2 + 0.5 * (1 + 3 * p[:, 0] ** 2) * p[:, 1] ** 2


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=512)
    a = ap.parse_args(argv)
    print(machine())
    grid = Grid([-2.0, -2.0], [2.0, 2.0], (a.n, a.n))
    fp = FokkerPlanck(grid, 0.1, potential=potential)
    x = grid.centers()[:, 0]
    source, target = x <= -1.0, x >= 1.0
    K = fp.operator.T.tocsc()  # the backward generator

    def naive_mfpt():
        free = ~target
        return spla.spsolve(K[free][:, free].tocsc(), -np.ones(free.sum()))

    def naive_committor():
        free = ~(source | target)
        rhs = -(K[free][:, target] @ np.ones(target.sum()))
        return spla.spsolve(K[free][:, free].tocsc(), rhs)

    print(f"grid {a.n}² ({grid.n_cells} cells)")
    for name, ours, naive, free in (
            ("mfpt", lambda: fp.mfpt(target), naive_mfpt, ~target),
            ("committor", lambda: fp.committor(source, target), naive_committor, ~(source | target))):
        t_ours, r_ours = timed(ours)
        t_naive, r_naive = timed(naive)
        diff = np.abs(r_ours.ravel()[free] - r_naive).max() / np.abs(r_naive).max()
        print(f"{name:10s} landscape_sde {t_ours:7.2f} s   spsolve (defaults) {t_naive:7.2f} s   "
              f"ratio {t_naive / t_ours:5.1f}x   max rel. difference {diff:.1e}")


if __name__ == "__main__":
    main()
