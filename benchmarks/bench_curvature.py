"""Curvature of the 20 × 50 × 50 deep linear network (50,000 parameters): the compiled exact
Hessian-vector product against a NumPy HVP and PyTorch's (``torch==2.13.0``, CPU, optional),
per HVP and per sharpness estimate (Lanczos), and a full-batch GD step against PyTorch's.

    python -m pip install torch==2.13.0      # optional peer
    python -m benchmarks.bench_curvature
"""
import time

import numpy as np
import scipy.sparse.linalg as spla

from analysis.curvature import sharpness
from benchmarks._common import best_time, machine
from models.deep_linear import DeepLinearNetwork


def torch_parts(model, theta):
    import torch
    torch.set_default_dtype(torch.float64)
    X = torch.tensor(model.X)
    Y = torch.tensor(model.Y)
    shapes = [(b, a) for a, b in zip(model.widths[:-1], model.widths[1:])]
    sizes = [a * b for a, b in shapes]

    def loss_fn(flat, idx=None):
        x, y = (X, Y) if idx is None else (X[idx], Y[idx])
        h = x.T
        for W, shp in zip(torch.split(flat, sizes), shapes):
            h = W.reshape(shp) @ h
        return 0.5 * ((h - y.T) ** 2).sum() / x.shape[0]

    p = torch.tensor(theta, requires_grad=True)

    def hvp(v):
        g = torch.autograd.grad(loss_fn(p), p, create_graph=True)[0]
        return torch.autograd.grad(g @ torch.as_tensor(v), p)[0].detach().numpy()

    def gd_step(lr, steps, batches=None):
        """GD, or SGD on the given index batches (one per step)."""
        q = p.detach().clone().requires_grad_(True)
        for k in range(steps):
            if batches is None:
                g = torch.autograd.grad(loss_fn(q), q)[0]
            else:
                g = torch.autograd.grad(loss_fn(q, torch.as_tensor(batches[k])), q)[0]
            with torch.no_grad():
                q -= lr * g
        return q

    return hvp, gd_step, torch.get_num_threads()


def main():
    model = DeepLinearNetwork.edge_of_stability(rng=0)
    theta = model.init(rng=0)
    v = np.random.default_rng(1).standard_normal(model.dim)
    out = np.empty(model.dim)
    kernel = model.compiled("hvp")
    kernel(theta, model.data, v, out)
    print(machine())
    print(f"Deep linear network 20 × 50 × 50 ({model.dim} parameters), N = {model.n_samples}")
    t_ours, _ = best_time(lambda: [kernel(theta, model.data, v, out) for _ in range(50)], 3)
    t_np, ref = best_time(lambda: [model.hvp(theta, v) for _ in range(50)], 3)
    print(f"  HVP, compiled (landscape_sde): {t_ours / 50 * 1e3:7.2f} ms")
    print(f"  HVP, NumPy R-operator        : {t_np / 50 * 1e3:7.2f} ms  ({t_np / t_ours:.1f}x)")
    try:
        hvp_t, gd_t, threads = torch_parts(model, theta)
        assert np.allclose(hvp_t(v), out, rtol=1e-8, atol=1e-8 * np.abs(out).max())
        hvp_t(v)
        t_t, _ = best_time(lambda: [hvp_t(v) for _ in range(50)], 3)
        print(f"  HVP, PyTorch double backward : {t_t / 50 * 1e3:7.2f} ms  ({t_t / t_ours:.1f}x, "
              f"{threads} threads)")
    except ImportError:
        hvp_t = gd_t = None
        print("  PyTorch not installed: pip install torch==2.13.0")
    t, s = best_time(lambda: sharpness(model, theta, tol=1e-6), 1)
    print(f"  sharpness by Lanczos, compiled HVPs: {t:6.2f} s, {s.n_hvp} HVPs, S = {s.sharpness:.2f}")
    op = spla.LinearOperator((model.dim, model.dim), matvec=lambda x: model.hvp(theta, x), dtype=float)
    t_np_l, _ = best_time(lambda: spla.eigsh(op, k=1, which="LA", tol=1e-6,
                                             v0=np.ones(model.dim) / np.sqrt(model.dim)), 1)
    print(f"  eigsh on the NumPy HVP             : {t_np_l:6.2f} s  ({t_np_l / t:.1f}x)")
    if hvp_t is not None:
        op_t = spla.LinearOperator((model.dim, model.dim), matvec=hvp_t, dtype=float)
        t_tl, _ = best_time(lambda: spla.eigsh(op_t, k=1, which="LA", tol=1e-6,
                                               v0=np.ones(model.dim) / np.sqrt(model.dim)), 1)
        print(f"  eigsh on the PyTorch HVP           : {t_tl:6.2f} s  ({t_tl / t:.1f}x)")
    import landscape_sde as lsde
    lsde.simulate(model, lsde.GD(1e-4), theta, n_steps=2)
    t_gd, _ = best_time(lambda: lsde.simulate(model, lsde.GD(1e-4), theta, n_steps=500,
                                              save_every=500), 3)
    print(f"  GD, 500 steps, landscape_sde: {t_gd:6.3f} s ({500 / t_gd:7.0f} steps/s)")
    if gd_t is not None:
        gd_t(1e-4, 2)
        t_gdt, _ = best_time(lambda: gd_t(1e-4, 500), 3)
        print(f"  GD, 500 steps, PyTorch      : {t_gdt:6.3f} s ({500 / t_gdt:7.0f} steps/s, "
              f"{t_gdt / t_gd:.1f}x)")
    # SGD, b = 10 distinct samples per step: compiled loop vs NumPy (and PyTorch) loops on the
    # same kind of batches
    lsde.simulate(model, lsde.SGD(1e-4, 10), theta, n_steps=2)
    t_sgd, _ = best_time(lambda: lsde.simulate(model, lsde.SGD(1e-4, 10), theta, n_steps=500,
                                               save_every=500, rng=0), 3)
    print(f"  SGD b=10, 500 steps, landscape_sde: {t_sgd:6.3f} s ({500 / t_sgd:7.0f} steps/s)")
    gen = np.random.default_rng(0)
    batches = [gen.choice(model.n_samples, 10, replace=False) for _ in range(500)]

    def numpy_sgd():
        q = theta.copy()
        for idx in batches:
            q -= 1e-4 * model._backprop(q, model.X[idx], model.Y[idx])[0]
        return q

    t_sgd_np, _ = best_time(numpy_sgd, 3)
    print(f"  SGD b=10, 500 steps, NumPy loop   : {t_sgd_np:6.3f} s ({500 / t_sgd_np:7.0f} steps/s, "
          f"{t_sgd_np / t_sgd:.1f}x)")
    if gd_t is not None:
        gd_t(1e-4, 2, batches)
        t_sgdt, _ = best_time(lambda: gd_t(1e-4, 500, batches), 3)
        print(f"  SGD b=10, 500 steps, PyTorch      : {t_sgdt:6.3f} s ({500 / t_sgdt:7.0f} steps/s, "
              f"{t_sgdt / t_sgd:.1f}x)")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"  (total {time.perf_counter() - t0:.0f} s)")
