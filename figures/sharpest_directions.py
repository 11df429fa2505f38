"""Peak and late sharpness of SGD over a grid of learning rates and batch sizes on a 10-layer
deep linear network (Jastrzębski et al., ICLR 2019): a smaller b lowers the late sharpness, and
for b = 10 and 20 so does a larger η; at b = 4 it is not monotone in η.

The "seeds" are batch-sampling seeds from one initialisation and one data set; b = 20 = N is
GD (no spread). Means are over the replicas, ±1 s.e.; a point where some replica diverged is
drawn open and labelled with the number of survivors it would average (no survivor averages
are passed off as the cell's mean).
"""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import CYCLE, DASHES, MARKERS, SE, letter, log_ticks, mean_se, plt, save
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
    n_rep = c["n_replicas"]
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.7))
    for j, b in enumerate(bs):
        line, = axes[0].plot(data[f"t_{j}"], np.asarray(data[f"S_{j}"]) * lrs[0] / 2, lw=1.1,
                             color=CYCLE[j], ls=DASHES[j], label=f"b = {b}")
        for ax, key in ((axes[1], "peak"), (axes[2], "late")):
            mean, se, n = mean_se(data[key][:, j], axis=1)
            full = np.asarray(data["diverged"])[:, j] == 0
            ax.errorbar(lrs[full], mean[full], se[full], color=CYCLE[j], fmt=MARKERS[j] + "-", ms=3.5,
                        lw=1, label=f"b = {b}")
            for i in np.nonzero(~full)[0]:
                ax.plot(lrs[i], mean[i], MARKERS[j], color=CYCLE[j], mfc="white", ms=4)
                ax.annotate(f"{n[i]}/{n_rep} alive", (lrs[i], mean[i]), textcoords="offset points",
                            xytext=(-4, 6), ha="right", fontsize=6.5, color=CYCLE[j])
    axes[0].axhline(1, color="k", ls=":", lw=1)
    axes[0].set(xlabel="step", ylabel=r"$S\,\eta/2$", title=f"one run per b, η = {lrs[0]:g}")
    grid = np.linspace(lrs.min(), lrs.max(), 50)
    for ax, what in ((axes[1], "peak S"), (axes[2], "late S")):
        ax.plot(grid, 2 / grid, color="k", ls=":", lw=1, label="2/η")
        ax.set(xscale="log", yscale="log", xlabel="learning rate η", ylabel="sharpness S",
               title=f"{what}, {SE}")
        log_ticks(ax, "x", lrs)
        log_ticks(ax, "y", [300, 500, 1000, 2000, 3000])
    axes[1].legend(loc="upper right", fontsize=6.5)
    axes[0].legend(fontsize=6.5)
    letter(axes)
    save(fig, path)
