"""Interleaved A/B of the trajectory engine: this checkout against another (e.g. the v1 engine
before its redesign, checked out with ``git worktree add /tmp/engine-v1 b7c52c5``).

Each round runs every case once in a fresh process of each checkout, alternating which goes
first, so slow drifts of a shared machine hit both alike; the result per case is the median
over rounds of the time ratio (this / other) and the throughput of each.

    python -m benchmarks.bench_engine_ab --other /tmp/engine-v1 [--rounds 5]
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys

from benchmarks._common import machine

CASES = {
    "Langevin EM, double well 2-D, 1e4 x 2000": (
        "from models import DoubleWell; m = DoubleWell(dim=2); s = lsde.Langevin(1e-3, 0.3); "
        "t0 = np.tile([1.0, 0.0], (10000, 1)); kw = dict(n_steps=2000, n_replicas=10000)"),
    "Leimkuhler-Matthews, double well 2-D, 1e4 x 2000": (
        "from models import DoubleWell; m = DoubleWell(dim=2); s = lsde.LeimkuhlerMatthews(1e-3, 0.3); "
        "t0 = np.tile([1.0, 0.0], (10000, 1)); kw = dict(n_steps=2000, n_replicas=10000)"),
    "SGD without replacement, linreg N=1024 d=16 b=32, 1000 x 1000": (
        "from models import LinearRegression; m = LinearRegression.teacher_student(1024, 16, noise=0.5, rng=0); "
        "s = lsde.SGD(0.01, 32); t0 = np.zeros(16); kw = dict(n_steps=1000, n_replicas=1000)"),
    "SGD with replacement, linreg N=1024 d=16 b=32, 1000 x 1000": (
        "from models import LinearRegression; m = LinearRegression.teacher_student(1024, 16, noise=0.5, rng=0); "
        "s = lsde.SGD(0.01, 32, replace=True); t0 = np.zeros(16); kw = dict(n_steps=1000, n_replicas=1000)"),
    "GD momentum 0.9, deep linear 3-4-5-2, 1000 x 2000": (
        "from models.deep_linear import DeepLinearNetwork; m = DeepLinearNetwork.teacher_student([3, 4, 5, 2], 7, noise=0.1, rng=0); "
        "s = lsde.GD(0.01, momentum=0.9); t0 = np.full(m.dim, 0.3); kw = dict(n_steps=2000, n_replicas=1000)"),
    "SME, linreg N=64 d=4, 1000 x 500": (
        "from models import LinearRegression; m = LinearRegression.teacher_student(64, 4, noise=0.5, rng=0); "
        "s = lsde.SME(0.01, 8); t0 = np.zeros(4); kw = dict(n_steps=500, n_replicas=1000)"),
}

_SCRIPT = """
import time, numpy as np, landscape_sde as lsde
{setup}
lsde.simulate(m, s, t0[:2] if np.ndim(t0) == 2 else t0, n_steps=5, n_replicas=2, rng=0)  # compile or load
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    lsde.simulate(m, s, t0, save_every=kw["n_steps"], rng=0, **kw)
    best = min(best, time.perf_counter() - t)
print(best, kw["n_steps"] * kw["n_replicas"])
"""


def _time(checkout, setup):
    out = subprocess.run([sys.executable, "-c", _SCRIPT.format(setup=setup)], cwd=checkout,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--other", required=True, help="path of the other checkout")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", help="write the results here")
    a = p.parse_args(argv)
    here = str(pathlib.Path(__file__).resolve().parents[1])
    times = {name: ([], []) for name in CASES}
    for rnd in range(a.rounds):
        for name, setup in CASES.items():
            order = [(0, here), (1, a.other)] if rnd % 2 == 0 else [(1, a.other), (0, here)]
            for which, checkout in order:
                t, work = _time(checkout, setup)
                times[name][which].append(t)
    print(machine())
    print(f"{'case':66s} {'this M/s':>9s} {'other M/s':>9s} {'ratio':>6s}")
    results = {}
    for name, setup in CASES.items():
        work = _time(here, setup)[1]
        ratio = statistics.median(t1 / t0 for t0, t1 in zip(*times[name]))  # >1: this is faster
        this, other = work / min(times[name][0]) / 1e6, work / min(times[name][1]) / 1e6
        results[name] = {"this": this, "other": other, "speed_ratio": ratio}
        print(f"{name:66s} {this:9.1f} {other:9.1f} {ratio:6.3f}")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
