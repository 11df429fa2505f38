"""SGD on the digits network (64→128→10 tanh, cross-entropy, 9,610 parameters, all 1,438
training images): landscape_sde against a PyTorch CPU loop in the same process, for the small
batches the digits experiments use.

    python -m benchmarks.bench_digits [--steps 2000]

Both sides run float64 and draw ``b`` distinct indices per step. PyTorch is timed with its
default intra-op threads and with one thread; landscape_sde with one replica (the per-step
latency the experiments see) and with two replicas (one per core: throughput). BLAS is held to
one thread on both sides of the one-thread rows. Before timing, 20 GD steps from the same
parameters are compared between the two (a correctness check, not a timing).
"""
import argparse

import numpy as np

import landscape_sde as lsde
from benchmarks._common import best_time, machine
from figures._digits import one_blas_thread
from models.classifier import OneHiddenLayerNetwork
from models.datasets import digits


def torch_loop(torch, model, theta0, n_steps, lr, b, seed, full_batch=False):
    """``n_steps`` of SGD (or GD) in PyTorch on the same network and data; returns θ."""
    d, h, K = model.n_features, model.width, model.n_classes
    X = torch.tensor(model.X)
    y = torch.tensor(model.labels)
    net = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.Tanh(), torch.nn.Linear(h, K)).double()
    W1, c1, W2, c2 = model.unpack(theta0)
    with torch.no_grad():
        for p, a in zip(net.parameters(), (W1, c1, W2, c2)):
            p.copy_(torch.tensor(a))
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    n = X.shape[0]
    for _ in range(n_steps):
        if full_batch:
            xb, yb = X, y
        else:
            idx = torch.randperm(n, generator=gen)[:b]
            xb, yb = X[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        loss_fn(net(xb), yb).backward()
        opt.step()
    return np.concatenate([p.detach().numpy().ravel() for p in net.parameters()])


def main(argv=None):
    import torch
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32, 128])
    a = p.parse_args(argv)
    model = OneHiddenLayerNetwork.from_dataset(digits(), 128)
    theta0 = model.init(rng=0)
    lr = 0.1
    print(machine() + f", torch {torch.__version__} (default threads {torch.get_num_threads()})")
    print(f"SGD on digits, 64→128→10 tanh, cross-entropy, dim = {model.dim}, N = {model.n_samples}, "
          f"{a.steps} steps, float64, best of 3")
    with one_blas_thread():
        gd = lsde.simulate(model, lsde.GD(lr), theta0, n_steps=20, save_every=20).theta[-1, 0]
    ref = torch_loop(torch, model, theta0, 20, lr, 0, 0, full_batch=True)
    print(f"  check: 20 GD steps, max |θ_lsde − θ_torch| = {np.abs(gd - ref).max():.2e}")
    default_threads = torch.get_num_threads()
    for b in a.batch_sizes:
        scheme = lsde.SGD(lr, b)
        with one_blas_thread():
            lsde.simulate(model, scheme, theta0, n_steps=5, rng=0)  # compile
            t1, _ = best_time(lambda: lsde.simulate(model, scheme, theta0, n_steps=a.steps,
                                                    save_every=a.steps, rng=0))
            t2, _ = best_time(lambda: lsde.simulate(model, scheme, theta0, n_steps=a.steps,
                                                    n_replicas=2, save_every=a.steps, rng=0))
            torch.set_num_threads(1)
            tt1, _ = best_time(lambda: torch_loop(torch, model, theta0, a.steps, lr, b, 0))
        torch.set_num_threads(default_threads)
        ttd, _ = best_time(lambda: torch_loop(torch, model, theta0, a.steps, lr, b, 0))
        rate = lambda t, r=1: r * a.steps / t  # noqa: E731
        print(f"  b = {b:4d}: landscape_sde {rate(t1):8.0f} steps/s (2 replicas: {rate(t2, 2):8.0f}); "
              f"torch {rate(ttd):7.0f} (default threads), {rate(tt1):7.0f} (1 thread); "
              f"ratio vs torch 1 thread {tt1 / t1:5.1f}x, vs default {ttd / t1:5.1f}x, "
              f"2-replica throughput vs torch 1 thread {rate(t2, 2) / rate(tt1):5.1f}x")


if __name__ == "__main__":
    main()
