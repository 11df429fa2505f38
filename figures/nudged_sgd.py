"""Nudged SGD against SGD on a 10-layer deep linear network: a reduced step γη along the
top-k Hessian eigenvectors (γ < 1) trains faster where SGD's large steps bounce along them,
and settles sharper (Jastrzębski et al., ICLR 2019)."""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(depth=10, width=20, data_seed=0, init_seed=0, lrs=[1e-3, 2e-3], batch_size=4,
              k=5, gammas=[1.0, 0.5, 0.1], refresh_every=50, n_steps=3000, observe_every=150,
              n_replicas=4, seed=1)
QUICK = {**CONFIG, "depth": 3, "width": 6, "lrs": [0.02], "k": 2, "batch_size": 3,
         "refresh_every": 10, "n_steps": 60, "observe_every": 20, "n_replicas": 2}


def scheme(lr, gamma, config):
    """``γ = 1`` is plain SGD (NSGD with γ = 1 equals it bit for bit)."""
    if gamma == 1.0:
        return lsde.SGD(lr, config["batch_size"])
    return lsde.NSGD(lr, config["batch_size"], k=config["k"], gamma=gamma,
                     refresh_every=config["refresh_every"])


def compute(config):
    model = DeepLinearNetwork.edge_of_stability(config["depth"], config["width"], rng=config["data_seed"])
    theta0 = model.init(rng=config["init_seed"])
    obs = {"S": (config["observe_every"],
                 lambda th: [sharpness(model, t, tol=1e-6).sharpness for t in th])}
    out = {}
    for i, lr in enumerate(config["lrs"]):
        for j, gamma in enumerate(config["gammas"]):
            ens = lsde.simulate(model, scheme(lr, gamma, config), theta0, n_steps=config["n_steps"],
                                n_replicas=config["n_replicas"], save_every=config["observe_every"],
                                rng=config["seed"], observe=obs)
            out[f"t_{i}_{j}"], out[f"loss_{i}_{j}"] = ens.t, ens.loss
            out[f"S_{i}_{j}"] = ens.observables["S"]["values"]
    return out


def plot(data, path):
    c = data["config"]
    fig, axes = plt.subplots(2, len(c["lrs"]), figsize=(5.5 * len(c["lrs"]), 6.4), squeeze=False,
                             gridspec_kw={"hspace": 0.45})
    for i, lr in enumerate(c["lrs"]):
        for j, gamma in enumerate(c["gammas"]):
            label = "SGD" if gamma == 1.0 else f"NSGD γ = {gamma:g}"
            t = data[f"t_{i}_{j}"]
            axes[0, i].semilogy(t, np.nanmean(data[f"loss_{i}_{j}"], axis=1), label=label)
            axes[1, i].plot(t, np.nanmean(data[f"S_{i}_{j}"], axis=1) * lr / 2, label=label)
        axes[0, i].set(title=f"η = {lr:g}, b = {c['batch_size']}: training loss", xlabel="step")
        axes[1, i].axhline(1.0, color="gray", ls=":", lw=1.2)
        axes[1, i].set(title="sharpness × η/2 (dotted: 2/η)", xlabel="step")
        axes[0, i].legend(fontsize=7)
    fig.suptitle(f"Nudged SGD (top k = {c['k']} eigenvectors refreshed every {c['refresh_every']} "
                 f"steps) on a {c['depth']}×{c['width']}×{c['width']} deep linear network, mean of "
                 f"{c['n_replicas']} runs", fontsize=10)
    save(fig, path)
