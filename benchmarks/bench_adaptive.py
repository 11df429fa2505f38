"""Full-batch Adam on the 50,000-parameter deep linear network: the compiled loop against
PyTorch's ``torch.optim.Adam`` (float64, CPU, autograd gradients; ``torch==2.13.0``, optional)
and against a NumPy loop over the model's own gradient, in the same process.

    python -m benchmarks.bench_adaptive
"""
import numpy as np

import landscape_sde as lsde
from benchmarks._common import best_time, machine
from models.deep_linear import DeepLinearNetwork

N_STEPS = 200


def torch_adam(model, theta, lr, n_steps):
    import torch
    torch.set_default_dtype(torch.float64)
    X, Y = torch.tensor(model.X), torch.tensor(model.Y)
    shapes = [(b, a) for a, b in zip(model.widths[:-1], model.widths[1:])]
    sizes = [a * b for a, b in shapes]
    p = torch.tensor(theta, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr)

    def run():
        for _ in range(n_steps):
            opt.zero_grad()
            out = X
            for W, shape in zip(torch.split(p, sizes), shapes):
                out = out @ W.reshape(shape).T
            (0.5 * ((out - Y) ** 2).sum(dim=1).mean()).backward()
            opt.step()
        return p.detach().numpy().copy()

    return run, torch.get_num_threads()


def numpy_adam(model, theta, lr, n_steps, beta1=0.9, beta2=0.999, eps=1e-8):
    def run():
        th, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
        for k in range(1, n_steps + 1):
            g = model.grad(th)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            th -= lr / (1 - beta1**k) * m / (np.sqrt(v / (1 - beta2**k)) + eps)
        return th
    return run


def main():
    model = DeepLinearNetwork.edge_of_stability(rng=0)
    theta = model.init(rng=1)
    lr = 1e-4
    print(machine())
    print(f"Adam, deep linear network {model.widths} ({model.dim} parameters), N = {model.n_samples}, "
          f"{N_STEPS} full-batch steps, best of 3")
    lsde.simulate(model, lsde.Adam(lr), theta, n_steps=2, rng=0)  # compile or load
    ours, ens = best_time(lambda: lsde.simulate(model, lsde.Adam(lr), theta, n_steps=N_STEPS,
                                                save_every=N_STEPS, rng=0))
    ref_np, th_np = best_time(numpy_adam(model, theta, lr, N_STEPS))
    print(f"  landscape_sde   {N_STEPS / ours:9.1f} steps/s")
    print(f"  NumPy loop      {N_STEPS / ref_np:9.1f} steps/s   ratio {ref_np / ours:5.2f}x   "
          f"max |Δθ| {np.abs(th_np - ens.theta[-1, 0]).max():.1e}")
    try:
        run, threads = torch_adam(model, theta, lr, N_STEPS)
    except ImportError:
        print("  PyTorch not installed: pip install torch==2.13.0")
        return
    run()  # warm-up (allocator, autograd graph caches) before timing from the same state
    run, threads = torch_adam(model, theta, lr, N_STEPS)
    t_torch = best_time(run, repeat=1)[0]
    run, _ = torch_adam(model, theta, lr, N_STEPS)
    th_t = run()
    print(f"  PyTorch ({threads} threads) {N_STEPS / t_torch:7.1f} steps/s   ratio "
          f"{t_torch / ours:5.2f}x   max |Δθ| {np.abs(th_t - ens.theta[-1, 0]).max():.1e}")


if __name__ == "__main__":
    main()
