"""First-call compile time per (model, scheme), and the cache reused by a second process.

Each measurement runs in a fresh interpreter with its own empty numba and landscape_sde cache
directories (``NUMBA_CACHE_DIR``, ``LANDSCAPE_SDE_CACHE_DIR``); a second interpreter with the
same directories then measures the load from the disk cache.

    python -m benchmarks.bench_compile
"""
import json
import os
import subprocess
import sys
import tempfile

from benchmarks._common import machine

CASES = {
    "DoubleWell 2-D": "DoubleWell(dim=2)",
    "Quadratic 2-D": "Quadratic(np.eye(2), np.eye(2), n_samples=4)",
    "LinearRegression d=16": "LinearRegression.teacher_student(1024, 16, noise=0.5, rng=0)",
}
SCHEMES = {
    "GD": "lsde.GD(0.01)", "GD+momentum": "lsde.GD(0.01, momentum=0.9)",
    "SGD": "lsde.SGD(0.01, 1)", "Langevin": "lsde.Langevin(0.01, 0.1)",
    "LeimkuhlerMatthews": "lsde.LeimkuhlerMatthews(0.01, 0.1)", "SME": "lsde.SME(0.01, 1)",
}
CHILD = """
import json, time
t0 = time.perf_counter()
import numpy as np
import landscape_sde as lsde
from models import DoubleWell, LinearRegression, Quadratic
t1 = time.perf_counter()
model = {model}
out = {{"import": t1 - t0}}
for name, expr in {schemes}.items():
    scheme = eval(expr)
    t = time.perf_counter()
    lsde.simulate(model, scheme, np.zeros(model.dim), n_steps=2)
    out[name] = time.perf_counter() - t
print(json.dumps(out))
"""


def run(model, cache):
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "LANDSCAPE_SDE_CACHE_DIR": cache + "/gen"}
    code = CHILD.format(model=model, schemes=SCHEMES)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout.splitlines()[-1])


def main():
    print(machine())
    print(f"{'model':24s} {'scheme':20s} {'first call (s)':>15s} {'cached (s)':>11s}")
    for label, model in CASES.items():
        with tempfile.TemporaryDirectory() as cache:
            cold, warm = run(model, cache), run(model, cache)
        print(f"{label:24s} {'(import)':20s} {cold['import']:15.2f} {warm['import']:11.2f}")
        for name in SCHEMES:
            print(f"{'':24s} {name:20s} {cold[name]:15.2f} {warm[name]:11.3f}")


if __name__ == "__main__":
    main()
