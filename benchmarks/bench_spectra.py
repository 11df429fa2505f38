"""Spectral density (stochastic Lanczos quadrature) and Hutchinson trace of the 20 × 50 × 50 deep
linear network (50,000 parameters): ``analysis.curvature`` on the compiled exact HVPs against
PyHessian-style PyTorch loops (``torch==2.13.0``, CPU) in the same process, at equal probes and
Lanczos steps.

The PyTorch side follows PyHessian (Yao et al., 2020) step for step: the gradient is built once
with ``create_graph=True`` and every HVP is ``torch.autograd.grad(grads, params, v,
retain_graph=True)``; Lanczos reorthogonalises against every previous vector in a Python loop
(PyHessian's ``orthnormal``); the trace averages ``vᵀHv`` over Rademacher ``v``; the tridiagonal
eigenproblem goes to ``torch.linalg.eigh``. Parameters are a list of per-layer tensors, as in a
``torch.nn.Module``.

    python -m pip install torch==2.13.0      # optional peer
    python -m benchmarks.bench_spectra
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.bench_spectra   # one thread each
"""
import os
import time

import numpy as np

from analysis.curvature import hessian_trace, spectral_density
from benchmarks._common import best_time, machine
from models.deep_linear import DeepLinearNetwork

N_PROBES, N_LANCZOS, N_TRACE = 3, 100, 100


def pyhessian_style(model, theta):
    """``(density(n_v, iters), trace(n_probes), threads)`` in the style of PyHessian."""
    import torch
    torch.set_default_dtype(torch.float64)
    X, Y = torch.tensor(model.X), torch.tensor(model.Y)
    params = [torch.tensor(W.copy(), requires_grad=True) for W in model.layers(theta)]
    h = X.T
    for W in params:
        h = W @ h
    loss = 0.5 * ((h - Y.T) ** 2).sum() / X.shape[0]
    grads = torch.autograd.grad(loss, params, create_graph=True)

    def hv(v):
        return torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)

    def dot(a, b):
        return sum(torch.sum(x * y) for x, y in zip(a, b))

    def normalise(v):
        s = torch.sqrt(dot(v, v))
        return [x / (s + 1e-6) for x in v]  # PyHessian's normalization

    def orthnormal(w, vs):
        for v in vs:
            c = dot(w, v)
            w = [a - c * b for a, b in zip(w, v)]
        return normalise(w)

    def rademacher():
        return [torch.randint_like(p, high=2) * 2 - 1 for p in params]

    def density(n_v, iters, seed=0):
        torch.manual_seed(seed)
        nodes, weights = [], []
        for _ in range(n_v):
            v = normalise(rademacher())
            vs, alphas, betas = [v], [], []
            for i in range(iters):
                if i == 0:
                    w_prime = hv(v)
                    alpha = dot(w_prime, v)
                    w = [a - alpha * b for a, b in zip(w_prime, v)]
                else:
                    beta = torch.sqrt(dot(w, w))
                    betas.append(beta)
                    v = orthnormal(w, vs) if beta != 0 else orthnormal(rademacher(), vs)
                    vs.append(v)
                    w_prime = hv(v)
                    alpha = dot(w_prime, v)
                    w = [a - alpha * b - beta * c for a, b, c in zip(w_prime, v, vs[-2])]
                alphas.append(alpha)
            T = torch.diag(torch.stack(alphas)) + torch.diag(torch.stack(betas), 1) \
                + torch.diag(torch.stack(betas), -1)
            lam, U = torch.linalg.eigh(T)
            nodes.append(lam.numpy())
            weights.append((U[0] ** 2).numpy())
        return np.array(nodes), np.array(weights)

    def trace(n_probes, seed=0):
        torch.manual_seed(seed)
        samples = []
        for _ in range(n_probes):
            v = rademacher()
            samples.append(float(dot(hv(v), v)))
        return np.mean(samples), np.std(samples, ddof=1) / np.sqrt(n_probes)

    return density, trace, torch.get_num_threads()


def main():
    model = DeepLinearNetwork.edge_of_stability(rng=0)
    theta = model.init(rng=0)
    print(machine())
    print("  BLAS/OpenMP threads: " + ", ".join(f"{k}={os.environ.get(k, 'default')}" for k in
                                                 ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")))
    print(f"Deep linear network 20 × 50 × 50 ({model.dim} parameters), N = {model.n_samples}; "
          f"density: {N_PROBES} probes × {N_LANCZOS} Lanczos steps; trace: {N_TRACE} probes")
    spectral_density(model, theta, n_probes=2, n_lanczos=2, rng=0)  # compile
    t_sd, sd = best_time(lambda: spectral_density(model, theta, n_probes=N_PROBES,
                                                  n_lanczos=N_LANCZOS, rng=0), 3)
    t_tr, tr = best_time(lambda: hessian_trace(model, theta, n_probes=N_TRACE, rng=0), 3)
    print(f"  density, landscape_sde: {t_sd:6.2f} s   λ_max (top Ritz value) {sd.nodes[:, -1].max():.4f}")
    print(f"  trace,   landscape_sde: {t_tr:6.2f} s   tr H = {tr.value:.1f} ± {tr.se:.1f}")
    try:
        density_t, trace_t, threads = pyhessian_style(model, theta)
    except ImportError:
        print("  PyTorch not installed: pip install torch==2.13.0")
        return
    density_t(1, 2)
    t_sdt, (nodes_t, _) = best_time(lambda: density_t(N_PROBES, N_LANCZOS), 3)
    t_trt, (mean_t, se_t) = best_time(lambda: trace_t(N_TRACE), 3)
    print(f"  density, PyHessian-style PyTorch: {t_sdt:6.2f} s ({t_sdt / t_sd:.1f}x, {threads} threads)"
          f"   λ_max {nodes_t[:, -1].max():.4f}")
    print(f"  trace,   PyHessian-style PyTorch: {t_trt:6.2f} s ({t_trt / t_tr:.1f}x)"
          f"   tr H = {mean_t:.1f} ± {se_t:.1f}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"  (total {time.perf_counter() - t0:.0f} s)")
