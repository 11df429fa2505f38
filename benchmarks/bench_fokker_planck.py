"""Stationary Fokker-Planck solve of the 2-D double well ``U = (x² − 1)² + 2y²`` at T = 0.3 on
[−2.5, 2.5] × [−2, 2]: landscape_sde against fplanck (``steady_state``) and FiPy (exponential
convection scheme), in the same process, with the L1 error of each against the exact
Boltzmann density.

    python -m pip install fplanck fipy   # optional benchmark dependencies
    python -m benchmarks.bench_fokker_planck [--sizes 64 128 256 512]
"""
import argparse
import time

import numpy as np
import scipy.integrate

import landscape_sde as lsde
from benchmarks._common import machine
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import DoubleWell

T, LO, HI = 0.3, (-2.5, -2.0), (2.5, 2.0)
U = lambda x, y: (x * x - 1) ** 2 + 2 * y * y  # noqa: E731


def exact_density(n):
    """Exact cell averages of exp(−U/T)/Z (U is separable: 1-D quadratures)."""
    zx = scipy.integrate.quad(lambda x: np.exp(-(x * x - 1) ** 2 / T), LO[0], HI[0])[0]
    zy = scipy.integrate.quad(lambda y: np.exp(-2 * y * y / T), LO[1], HI[1])[0]
    ex = np.linspace(LO[0], HI[0], n + 1)
    ey = np.linspace(LO[1], HI[1], n + 1)
    cx = np.array([scipy.integrate.quad(lambda x: np.exp(-(x * x - 1) ** 2 / T), a, b)[0]
                   for a, b in zip(ex[:-1], ex[1:])]) / np.diff(ex) / zx
    cy = np.array([scipy.integrate.quad(lambda y: np.exp(-2 * y * y / T), a, b)[0]
                   for a, b in zip(ey[:-1], ey[1:])]) / np.diff(ey) / zy
    return np.outer(cx, cy)


def ours(n):
    grid = Grid(LO, HI, (n, n))
    fp = FokkerPlanck.from_model(DoubleWell(), lsde.Langevin(1e-3, T), grid)
    return fp.stationary()


def with_fplanck(n):
    import fplanck
    from scipy import constants
    if not hasattr(np, "product"):
        np.product = np.prod  # fplanck 0.2 calls the NumPy 1 name
    sim = fplanck.fokker_planck(temperature=T / constants.k, drag=1.0, extent=[HI[0] - LO[0], HI[1] - LO[1]],
                                resolution=[(HI[0] - LO[0]) / n, (HI[1] - LO[1]) / n], potential=U,
                                boundary=fplanck.boundary.reflecting)
    cell = (HI[0] - LO[0]) / n * (HI[1] - LO[1]) / n
    return sim.steady_state() / cell


def with_fipy(n):
    import fipy
    from fipy.solvers.scipy import LinearLUSolver
    mesh = fipy.Grid2D(dx=(HI[0] - LO[0]) / n, dy=(HI[1] - LO[1]) / n, nx=n, ny=n) + ((LO[0],), (LO[1],))
    x, y = mesh.cellCenters
    potential = fipy.CellVariable(mesh=mesh, value=U(x, y))
    p = fipy.CellVariable(mesh=mesh, value=1.0)
    # ∂p/∂t = ∇·(T∇p) + ∇·(p∇U); FiPy's ConvectionTerm(coeff=c) is ∇·(c p), so c = ∇U (checked:
    # the other sign puts all mass on the barrier). The steady problem is singular, so
    # take one implicit Euler step with dt = 1e8: (I − dt A)⁻¹ p0 keeps the mass and damps
    # every non-stationary mode by 1/(1 + dt·rate), leaving the stationary state.
    eq = fipy.TransientTerm() == (fipy.DiffusionTerm(coeff=T)
                                  + fipy.ExponentialConvectionTerm(coeff=potential.faceGrad))
    eq.solve(var=p, dt=1e8, solver=LinearLUSolver())
    cell = (HI[0] - LO[0]) / n * (HI[1] - LO[1]) / n
    val = np.asarray(p.value)
    # FiPy orders cells x-fastest: reshape to (ny, nx) and transpose to (x, y)
    return (val / (val.sum() * cell)).reshape(n, n).T


def best(fn, n, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(n)
        times.append(time.perf_counter() - t)
    return min(times), out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    p.add_argument("--peers-up-to", type=int, default=256, help="largest grid for the peers")
    a = p.parse_args(argv)
    print(machine())
    print(f"{'grid':>6s} {'solver':14s} {'time (s)':>9s} {'L1 error':>10s} {'speed-up':>9s}")
    ours(16)  # compile the field kernels
    for n in a.sizes:
        exact = exact_density(n)
        cell = (HI[0] - LO[0]) / n * (HI[1] - LO[1]) / n
        t0, p0 = best(ours, n, 3 if n <= 256 else 1)
        print(f"{n:>5d}² {'landscape_sde':14s} {t0:9.3f} {np.abs(p0 - exact).sum() * cell:10.2e}")
        if n > a.peers_up_to:
            continue
        for name, fn in (("fplanck", with_fplanck), ("FiPy", with_fipy)):
            try:
                t, pp = best(fn, n, 1)
            except Exception as exc:  # an optional peer missing or failing is reported, not fatal
                print(f"{'':6s} {name:14s} unavailable: {type(exc).__name__}: {exc}")
                continue
            print(f"{'':6s} {name:14s} {t:9.3f} {np.abs(pp - exact).sum() * cell:10.2e} {t / t0:8.1f}x")


if __name__ == "__main__":
    main()
