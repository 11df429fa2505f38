"""Where the ceiling of a Langevin step lies on this machine, and what running replicas in
lanes buys: the engine against hand-written kernels that draw the same variates.

    python -m benchmarks.bench_lanes [--replicas 4096] [--steps 10000]

All kernels integrate Euler-Maruyama on U = (x² − 1)² + 2y² (``DoubleWell(dim=2)``), T = 0.3,
dt = 1e-3, with the package's generator (xoshiro256** per replica, 256-layer ziggurat), and are
checked bit for bit against ``lsde.simulate``:

- *scalar reference*: one replica at a time, θ and the generator words in registers;
- *L lanes*: L replicas interleaved in one loop, written out as L independent scalar chains
  (generated source), so that the out-of-order core overlaps their latency. Each lane keeps
  its own stream and fixes up its own ziggurat rejections, so the variates do not change;
- *normals only*: the first ``steps × 2`` normals of each replica, scalar, and with the
  lane loop written for LLVM's loop vectoriser (AVX-512 gathers of the ziggurat tables).

Single-core numbers use one numba thread and CPU time (the machine is shared); the last block
runs the engine and the best kernel on all threads, wall time.
"""
import argparse
import re
import time

import numba
import numpy as np

import landscape_sde as lsde
from benchmarks._common import machine
from landscape_sde._kernels.rng import (_MASK52, _U1, ZIG_W, ZIG_X, _xoshiro, _ziggurat_slow,
                                        normal, seed_replica)
from landscape_sde.rng import as_seed_sequence, root_key
from models import DoubleWell

T, DT = 0.3, 1e-3
SIGMA = np.sqrt(2 * T * DT)
_C = dict(U5=np.uint64(5), U7=np.uint64(7), U57=np.uint64(57), U9=np.uint64(9),
          U17=np.uint64(17), U45=np.uint64(45), U19=np.uint64(19), U255=np.uint64(255),
          U8=np.uint64(8))


@numba.njit(nogil=True, error_model="numpy")
def _scalar_replica(key, r, n_steps, dt, sigma, th0, out):
    s0, s1, s2, s3 = seed_replica(key, r)
    x0, x1 = th0[0], th0[1]
    for _ in range(n_steps):
        g0, g1 = 4.0 * x0 * (x0 * x0 - 1.0), 4.0 * x1
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        x0 += -dt * g0 + sigma * e
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        x1 += -dt * g1 + sigma * e
    out[r, 0], out[r, 1] = x0, x1


@numba.njit(nogil=True, parallel=True)
def scalar_reference(key, n, n_steps, dt, sigma, th0, out):
    for r in numba.prange(n):
        _scalar_replica(key, r, n_steps, dt, sigma, th0, out)


def lane_kernel(n_lanes):
    """Generated kernel: ``n_lanes`` replicas as independent scalar chains in one loop."""
    def each(fmt, sep="\n"):
        return sep.join(fmt.format(l=lane) for lane in range(n_lanes))
    src = ["def group(key, first, n_steps, dt, sigma, th0, out):",
           each("    a0_{l}, a1_{l}, a2_{l}, a3_{l} = seed_replica(key, first + {l})"),
           each("    x0_{l}, x1_{l} = th0[0], th0[1]"),
           "    for k in range(n_steps):",
           each("        g0_{l} = 4.0 * x0_{l} * (x0_{l} * x0_{l} - 1.0)"),
           each("        g1_{l} = 4.0 * x1_{l}")]
    for j in range(2):
        src += [each("        r_{l} = ((a1_{l} * U5 << U7) | (a1_{l} * U5 >> U57)) * U9"),
                each("        t_{l} = a1_{l} << U17"),
                each("        a2_{l} ^= a0_{l}\n        a3_{l} ^= a1_{l}\n        a1_{l} ^= a2_{l}\n"
                     "        a0_{l} ^= a3_{l}\n        a2_{l} ^= t_{l}\n"
                     "        a3_{l} = (a3_{l} << U45) | (a3_{l} >> U19)"),
                each("        i_{l} = np.int64(r_{l} & U255)"),
                each("        z_{l} = np.float64(np.int64((r_{l} >> U9) & _MASK52)) * ZIG_W[i_{l}]"),
                each("        s_{l} = 1.0 - 2.0 * np.float64(np.int64((r_{l} >> U8) & _U1))"),
                each("        b_{l} = not z_{l} < ZIG_X[i_{l} + 1]"),
                "        if " + each("b_{l}", " | ") + ":",  # rare: one branch for all lanes
                each("            if b_{l}:\n                z_{l}, a0_{l}, a1_{l}, a2_{l}, a3_{l} = "
                     "_ziggurat_slow(i_{l}, z_{l}, a0_{l}, a1_{l}, a2_{l}, a3_{l})"),
                each(f"        x{j}_{{l}} += -dt * g{j}_{{l}} + sigma * (s_{{l}} * z_{{l}})")]
    src.append(each("    out[first + {l}, 0], out[first + {l}, 1] = x0_{l}, x1_{l}"))
    ns = dict(np=np, seed_replica=seed_replica, _ziggurat_slow=_ziggurat_slow, ZIG_W=ZIG_W,
              ZIG_X=ZIG_X, _MASK52=_MASK52, _U1=_U1, **_C)
    exec("\n".join(src), ns)  # noqa: S102 - generated from the fixed template above
    group = numba.njit(nogil=True, error_model="numpy")(ns["group"])

    @numba.njit(nogil=True, parallel=True)
    def run(key, n, n_steps, dt, sigma, th0, out):
        for g in numba.prange(n // n_lanes):
            group(key, g * n_lanes, n_steps, dt, sigma, th0, out)
    return run, group


@numba.njit(nogil=True)
def normals_scalar(key, n, out):
    """``out[r, t]``: replica-major, so each replica writes contiguously."""
    for r in range(n):
        s0, s1, s2, s3 = seed_replica(key, r)
        for t in range(out.shape[1]):
            out[r, t], s0, s1, s2, s3 = normal(s0, s1, s2, s3)


@numba.njit(nogil=True, error_model="numpy")
def normals_vectorised(key, n, out, rej, idx):
    """Lane loop (runtime length, so LLVM's loop vectoriser takes it) with per-lane fix-ups."""
    st = np.empty((4, n), np.uint64)
    for r in range(n):
        st[0, r], st[1, r], st[2, r], st[3, r] = seed_replica(key, r)
    for t in range(out.shape[0]):
        for r in range(n):
            w, st[0, r], st[1, r], st[2, r], st[3, r] = _xoshiro(st[0, r], st[1, r], st[2, r], st[3, r])
            i = np.int64(w & np.uint64(0xFF))
            x = np.float64(np.int64((w >> np.uint64(9)) & _MASK52)) * ZIG_W[i]
            rej[r], idx[r] = not x < ZIG_X[i + 1], i
            out[t, r] = (1.0 - 2.0 * np.float64(np.int64((w >> np.uint64(8)) & _U1))) * x
        for r in range(n):
            if rej[r]:
                z = out[t, r]
                x, st[0, r], st[1, r], st[2, r], st[3, r] = _ziggurat_slow(
                    idx[r], abs(z), st[0, r], st[1, r], st[2, r], st[3, r])
                out[t, r] = x if z >= 0 else -x


def vector_instructions(fn):
    asm = fn.inspect_asm(fn.signatures[0])
    return {k: len(re.findall(k, asm)) for k in ("zmm", "ymm", "vgather", "vprolq", "vcvtqq2pd")}


def cpu_time(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--replicas", type=int, default=4096)
    p.add_argument("--steps", type=int, default=10_000)
    a = p.parse_args(argv)
    n, steps, work = a.replicas, a.steps, a.replicas * a.steps
    model, th0 = DoubleWell(dim=2), np.array([1.0, 0.0])
    scheme = lsde.Langevin(DT, T)
    key = root_key(as_seed_sequence(0))
    engine = lambda: lsde.simulate(model, scheme, np.tile(th0, (n, 1)), n_steps=steps,  # noqa: E731
                                   n_replicas=n, save_every=steps, rng=0)
    want = engine().theta[-1]
    kernels = {"scalar reference": scalar_reference}
    groups = {}
    for lanes in (2, 4, 8):
        kernels[f"{lanes} lanes"], groups[lanes] = lane_kernel(lanes)
    out = np.empty((n, 2))
    for name, k in kernels.items():
        k(key, n, steps, DT, SIGMA, th0, out)
        assert np.array_equal(out, want), f"{name} differs from lsde.simulate"
    z1, z2 = np.empty((n, 2 * steps // 10)), np.empty((2 * steps // 10, n))
    normals_scalar(key, n, z1)
    normals_vectorised(key, n, z2, np.empty(n, np.bool_), np.empty(n, np.int64))
    assert np.array_equal(z1.T, z2)

    threads = numba.get_num_threads()
    print(machine())
    print(f"Euler-Maruyama, double well, {n} replicas x {steps} steps; all kernels bit-identical "
          "to lsde.simulate")
    numba.set_num_threads(1)
    print("one core (CPU time, M trajectory-steps/s):")
    rate = {"engine (lsde.simulate)": work / cpu_time(engine)}
    for name, k in kernels.items():
        rate[name] = work / cpu_time(lambda: k(key, n, steps, DT, SIGMA, th0, out))
    for name, r in rate.items():
        print(f"  {name:24s} {r / 1e6:7.1f}   {r / rate['scalar reference']:5.2f}x reference")
    m = z1.size
    for name, f in (("scalar", lambda: normals_scalar(key, n, z1)),
                    ("vectorised", lambda: normals_vectorised(key, n, z2, np.empty(n, np.bool_),
                                                              np.empty(n, np.int64)))):
        print(f"  normals only, {name:10s} {m / cpu_time(f) / 1e6:7.1f} M normals/s")
    print("  vector instructions:", {"8 lanes": vector_instructions(groups[8]),
                                     "normals vectorised": vector_instructions(normals_vectorised)})
    numba.set_num_threads(threads)
    best = max(kernels, key=lambda k: rate[k])
    t_e = min(_wall(engine) for _ in range(3))
    t_k = min(_wall(lambda: kernels[best](key, n, steps, DT, SIGMA, th0, out)) for _ in range(3))
    print(f"{threads} threads (wall): engine {work / t_e / 1e6:.1f}, {best} {work / t_k / 1e6:.1f} "
          "M trajectory-steps/s")


def _wall(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
