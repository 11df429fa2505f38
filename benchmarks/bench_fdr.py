"""Cost of measuring the fluctuation-dissipation relations during a run (analysis.fdr), against
the same run without observers, in the same process.

    python -m benchmarks.bench_fdr [--replicas 64] [--steps 20000]

The observer calls the compiled full and per-sample gradient kernels once per replica and
observation; the run is split into compiled segments at the observation steps.
"""
import argparse

import numpy as np

import landscape_sde as lsde
from analysis.fdr import FDRObserver
from benchmarks._common import best_time, machine
from models import LinearRegression


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--replicas", type=int, default=64)
    p.add_argument("--steps", type=int, default=20_000)
    a = p.parse_args(argv)
    lin = LinearRegression.teacher_student(256, 16, noise=0.5, rng=0)
    w = lin.minimizer()
    scheme = lsde.SGD(0.02, 8)
    obs = FDRObserver(lin, scheme, origin=w)
    run = lambda observe=None: lsde.simulate(lin, scheme, w, n_steps=a.steps,  # noqa: E731
                                             n_replicas=a.replicas, save_at=[0], rng=0,
                                             observe=observe)
    run({"fdr": obs.spec(a.steps // 2)})  # compile
    t0, _ = best_time(run)
    print(machine())
    print(f"SGD on linear regression N=256, d=16, b=8; {a.replicas} replicas x {a.steps} steps")
    print(f"  no observer          : {t0:7.3f} s   1.00x")
    for every in (1000, 100, 10):
        t, ens = best_time(lambda: run({"fdr": obs.spec(every)}))
        n_obs = ens.observables["fdr"]["t"].size
        per = (t - t0) / (n_obs * a.replicas) * 1e6
        print(f"  FDR observer every {every:4d}: {t:7.3f} s  {t / t0:5.2f}x  ({n_obs} observations, "
              f"{per:6.1f} us per replica-observation)")
    full = np.isfinite(ens.observables["fdr"]["values"]).all()
    print(f"  observables finite: {full}")


if __name__ == "__main__":
    main()
