"""Nudged SGD against SGD on a 10-layer deep linear network: a step γη along the top-k Hessian
eigenvectors (Jastrzębski et al., ICLR 2019). With γ < 1 it trains faster where SGD's large
steps bounce along them; whether it ends sharper depends on η (at the smaller η it does, at the
larger one it does not). γ > 1 (a larger step along the sharp directions) is the other half of
the experiment.

Curves are means over ``n_replicas`` batch-sampling seeds from one initialisation, ±1 s.e.;
a run that diverged is counted in the legend and left out (so its curve is marked as a
survivor mean).
"""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import CYCLE, DASHES, SE, band, letter, log_ticks, mean_se, plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(depth=10, width=20, data_seed=0, init_seed=0, lrs=[1e-3, 2e-3], batch_size=4,
              k=5, gammas=[1.0, 0.5, 0.1, 2.0], refresh_every=50, n_steps=3000, observe_every=150,
              n_replicas=8, seed=1)
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
            out[f"diverged_{i}_{j}"] = ens.diverged.copy()
    return out


def plot(data, path):
    c = data["config"]
    n = len(c["lrs"])
    fig, axes = plt.subplots(2, n, figsize=(7.2, 4.8), squeeze=False, sharey="row")
    for i, lr in enumerate(c["lrs"]):
        for j, gamma in enumerate(c["gammas"]):
            label = "SGD" if gamma == 1.0 else f"NSGD γ = {gamma:g}"
            dead = int(np.sum(data.get(f"diverged_{i}_{j}", [])))
            if dead:
                label += f" ({dead}/{c['n_replicas']} diverged; survivors)"
            t = data[f"t_{i}_{j}"]
            kw = dict(color=CYCLE[j], ls=DASHES[j], lw=1.1)
            m, se, _ = mean_se(data[f"loss_{i}_{j}"], axis=1)
            band(axes[0, i], t, m, se, label=label, **kw)
            m, se, _ = mean_se(np.asarray(data[f"S_{i}_{j}"]) * lr / 2, axis=1)
            band(axes[1, i], t, m, se, **kw)
        axes[0, i].set(yscale="log", title=f"η = {lr:g}, b = {c['batch_size']}", xlabel="step")
        log_ticks(axes[0, i], "y", [10, 20, 50, 100, 200, 500])
        axes[0, i].set_ylim(top=1500)
        axes[1, i].axhline(1.0, color="k", ls=":", lw=1)
        axes[1, i].set(xlabel="step")
        axes[0, i].legend(fontsize=6.5, loc="upper right", ncol=2)
    axes[0, 0].set_ylabel(f"training loss ({SE})")
    axes[1, 0].set_ylabel(r"sharpness $\times\,\eta/2$")
    letter(axes.T)
    save(fig, path)
