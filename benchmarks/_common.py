"""Helpers shared by the benchmarks: best-of-k timing and a machine description."""
import os
import platform
import time

import numba
import numpy as np


def best_time(fn, repeat=3):
    """Minimum wall time of ``fn()`` over ``repeat`` calls (seconds) and its last result."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, numba threads {numba.get_num_threads()}, "
            f"Python {platform.python_version()}, NumPy {np.__version__}, numba {numba.__version__}")
