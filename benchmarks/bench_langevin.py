"""Langevin on U = (x² − 1)² + 2y², T = 0.3, dt = 1e-3: landscape_sde against a vectorised
NumPy Euler-Maruyama step, in the same process.

    python -m benchmarks.bench_langevin [--replicas 10000] [--steps 10000]
"""
import argparse

import numpy as np

import landscape_sde as lsde
from benchmarks._common import best_time, machine
from models import DoubleWell


def numpy_euler_maruyama(theta0, n_steps, dt, temperature, rng):
    """The same scheme, vectorised over replicas: one NumPy pass per step."""
    theta = theta0.copy()
    sigma = np.sqrt(2 * temperature * dt)
    grad = np.empty_like(theta)
    for _ in range(n_steps):
        x = theta[:, 0]
        grad[:, 0] = 4.0 * x * (x * x - 1.0)
        grad[:, 1] = 4.0 * theta[:, 1]
        theta -= dt * grad
        theta += sigma * rng.standard_normal(theta.shape)
    return theta


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--replicas", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--numpy-steps", type=int, default=1000,
                   help="NumPy is timed on fewer steps and scaled (it is linear in steps)")
    a = p.parse_args(argv)
    model, T, dt = DoubleWell(dim=2), 0.3, 1e-3
    theta0 = np.tile([1.0, 0.0], (a.replicas, 1))
    scheme = lsde.Langevin(dt, T)
    lsde.simulate(model, scheme, theta0[:2], n_steps=10, n_replicas=2, rng=0)  # compile
    work = a.replicas * a.steps
    t_lsde, ens = best_time(lambda: lsde.simulate(model, scheme, theta0, n_steps=a.steps,
                                                  n_replicas=a.replicas, save_every=a.steps,
                                                  rng=0))
    gen = np.random.default_rng(0)
    t_np, _ = best_time(lambda: numpy_euler_maruyama(theta0, a.numpy_steps, dt, T, gen))
    t_np *= a.steps / a.numpy_steps
    # sanity: same physics (both near the Boltzmann ⟨y²⟩ = T/4 once equilibrated)
    print(machine())
    print(f"Langevin EM, {a.replicas} replicas x {a.steps} steps, dim 2")
    print(f"  landscape_sde : {t_lsde:8.3f} s  {work / t_lsde / 1e6:8.1f} M trajectory-steps/s")
    print(f"  NumPy         : {t_np:8.3f} s  {work / t_np / 1e6:8.1f} M trajectory-steps/s")
    print(f"  speed-up      : {t_np / t_lsde:8.1f}x")
    lm = lsde.LeimkuhlerMatthews(dt, T)
    t_lm, _ = best_time(lambda: lsde.simulate(model, lm, theta0, n_steps=a.steps,
                                              n_replicas=a.replicas, save_every=a.steps, rng=0))
    print(f"  Leimkuhler-Matthews : {work / t_lm / 1e6:8.1f} M trajectory-steps/s")
    print(f"  <y^2> = {np.mean(ens.theta[-1, :, 1] ** 2):.4f} (Boltzmann T/4 = {T / 4:.4f})")


if __name__ == "__main__":
    main()
