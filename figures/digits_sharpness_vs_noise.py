"""SGD on the digits (64→32→10 tanh, cross-entropy, all 1,438 images with 30% of labels
randomised): the sharpness rises early and peaks, and the peak along the trajectory is lower
for larger η/b (Jastrzębski et al., ICLR 2019) up to η/b ≈ 0.03, over a grid of η, b and seeds."""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._digits import digits_model, one_blas_thread
from figures._style import plt, save

CONFIG = dict(n_train=None, width=32, activation="tanh", loss="cross_entropy", label_noise=0.3,
              noise_seed=0, init_seed=0, lrs=[0.5, 1.0, 2.0], batch_sizes=[16, 64, 256],
              n_steps=1000, observe_every=25, n_replicas=3, seed=1)
QUICK = {**CONFIG, "n_train": 200, "width": 8, "lrs": [0.5, 2.0], "batch_sizes": [16, 64],
         "n_steps": 100, "observe_every": 50, "n_replicas": 2}


def compute(config):
    out = {"cells": []}
    with one_blas_thread():
        model = digits_model(config)
        theta0 = model.init(rng=config["init_seed"])
        observe = {"S": (config["observe_every"],
                         lambda th: [sharpness(model, t, tol=1e-6).sharpness for t in th])}
        out["initial_sharpness"] = sharpness(model, theta0).sharpness
        for i, lr in enumerate(config["lrs"]):
            for j, b in enumerate(config["batch_sizes"]):
                ens = lsde.simulate(model, lsde.SGD(lr, b), theta0, n_steps=config["n_steps"],
                                    n_replicas=config["n_replicas"], save_every=config["n_steps"],
                                    rng=config["seed"], observe=observe)
                S = ens.observables["S"]["values"]  # (n_obs, n_replicas)
                out[f"S_{i}_{j}"] = S
                peak = S.max(axis=0)
                out["cells"].append({
                    "lr": lr, "batch_size": b, "n_diverged": int(ens.diverged.sum()),
                    "peak_sharpness": [float(peak.mean()), float(peak.std(ddof=1) / np.sqrt(peak.size))],
                    "final_loss": float(ens.loss[-1].mean())})
        out["t"] = ens.observables["S"]["t"]
    return out


def plot(data, path):
    c = data["config"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    markers = dict(zip(c["batch_sizes"], "osD^v"))
    for i, lr in enumerate(c["lrs"]):
        for j, b in enumerate(c["batch_sizes"]):
            cell = data["cells"][i * len(c["batch_sizes"]) + j]
            mean, se = cell["peak_sharpness"]
            axes[0].errorbar(lr / b, mean, yerr=se, marker=markers[b], color=f"C{i}", ls="none",
                             capsize=2)
        axes[0].plot([], [], color=f"C{i}", lw=4, label=f"η = {lr:g}")
    for b, m in markers.items():
        axes[0].plot([], [], marker=m, color="gray", ls="none", label=f"b = {b}")
    axes[0].axhline(data["initial_sharpness"], color="gray", ls=":", lw=1)
    axes[0].set(xscale="log", xlabel="η / b", ylabel="peak sharpness along the run",
                title=f"peak of S over {c['n_steps']} steps (dotted: S₀); mean ± 1 s.e. over {c['n_replicas']} seeds")
    axes[0].legend(fontsize=7, ncol=2)
    t = data["t"]
    j = len(c["batch_sizes"]) - 1
    for i, lr in enumerate(c["lrs"]):
        S = data[f"S_{i}_{j}"]
        axes[1].plot(t, S.mean(axis=1), color=f"C{i}", lw=1.3, label=f"η = {lr:g}")
        axes[1].axhline(2 / lr, color=f"C{i}", ls=":", lw=1)
    axes[1].set(xlabel="SGD step", ylabel="sharpness S", ylim=(0, 1.3 * float(data["S_0_" + str(j)].max())),
                title=f"b = {c['batch_sizes'][j]}: S along the run (mean of seeds); dotted: 2/η, off the axis for η = 0.5")
    axes[1].legend(fontsize=7)
    fig.suptitle("Digits, 64→32→10 tanh, cross-entropy, 30% labels randomised: the sharpness peak "
                 "falls with η/b up to η/b ≈ 0.03;\nbeyond it (b = 16, η ≥ 1) SGD trains poorly "
                 "(final loss ≥ 1) and single spikes set the peak", fontsize=9)
    fig.tight_layout()
    fig.subplots_adjust(top=0.8)
    save(fig, path)
