"""Peak and late sharpness of SGD over a grid of learning rates and batch sizes on a 10-layer
deep linear network: a larger η or a smaller b lowers them (Jastrzębski et al., ICLR 2019)."""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(depth=10, width=20, data_seed=0, init_seed=0, lrs=[1e-3, 1.5e-3, 2e-3, 3e-3],
              batch_sizes=[4, 10, 20], n_steps=3000, observe_every=75, n_replicas=8, seed=1)
QUICK = {**CONFIG, "depth": 3, "width": 6, "lrs": [0.01, 0.02], "batch_sizes": [3, 6],
         "n_steps": 60, "observe_every": 10, "n_replicas": 2}


def late_and_peak(S):
    """Per replica: the mean over the last quarter of the observations and the maximum."""
    late = np.mean(S[-max(1, len(S) // 4):], axis=0)
    return late, np.max(S, axis=0)


def compute(config):
    model = DeepLinearNetwork.edge_of_stability(config["depth"], config["width"], rng=config["data_seed"])
    theta0 = model.init(rng=config["init_seed"])
    obs = {"S": (config["observe_every"],
                 lambda th: [sharpness(model, t, tol=1e-6).sharpness for t in th])}
    shape = (len(config["lrs"]), len(config["batch_sizes"]), config["n_replicas"])
    late, peak, diverged = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape[:2], int)
    out = {"initial_sharpness": sharpness(model, theta0).sharpness}
    for i, lr in enumerate(config["lrs"]):
        for j, b in enumerate(config["batch_sizes"]):
            ens = lsde.simulate(model, lsde.SGD(lr, b), theta0, n_steps=config["n_steps"],
                                n_replicas=config["n_replicas"], save_every=config["n_steps"],
                                rng=config["seed"], observe=obs)
            S = ens.observables["S"]["values"]
            alive = ~ens.diverged  # a diverged replica has no late sharpness
            late[i, j, alive], peak[i, j, alive] = late_and_peak(S[:, alive])
            diverged[i, j] = int(ens.diverged.sum())
            if i == 0:
                out[f"t_{j}"], out[f"S_{j}"] = ens.observables["S"]["t"], S[:, 0]
    out.update(late=late, peak=peak, diverged=diverged)
    return out


def plot(data, path):
    c = data["config"]
    lrs, bs = np.array(c["lrs"]), c["batch_sizes"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for j, b in enumerate(bs):
        line, = axes[0].plot(data[f"t_{j}"], data[f"S_{j}"], lw=1.2, label=f"b = {b}")
        for ax, key in ((axes[1], "peak"), (axes[2], "late")):
            v = data[key][:, j]
            n = np.sum(np.isfinite(v), axis=1)
            mean = np.nanmean(v, axis=1)
            se = np.nanstd(v, axis=1, ddof=1) / np.sqrt(np.maximum(n, 1))
            ax.errorbar(lrs, mean, yerr=se, color=line.get_color(), marker="o", ms=4, capsize=2,
                        label=f"b = {b}")
    axes[0].axhline(2 / lrs[0], color="gray", ls=":", lw=1.2)
    axes[0].set(xlabel="step", ylabel="sharpness S", title=f"one run per b at η = {lrs[0]:g} (dotted 2/η)")
    grid = np.linspace(lrs.min(), lrs.max(), 50)
    for ax, what in ((axes[1], "peak sharpness (b = 4: early catapult spikes)"), (axes[2], "late sharpness (last quarter)")):
        ax.plot(grid, 2 / grid, color="gray", ls=":", lw=1.2, label="2/η")
        ax.set(xlabel="learning rate η", ylabel="S", title=what + f", {c['n_replicas']} seeds ± s.e.")
        ax.legend(fontsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"SGD on a deep linear network {c['depth']}×{c['width']}×{c['width']} "
                 f"(N = {c['width']}): larger η or smaller b, flatter", fontsize=10)
    save(fig, path)
