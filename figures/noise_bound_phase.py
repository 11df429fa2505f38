"""Phase diagram over (η, b) for loss-dependent noise: where SGD's mean loss stays finite."""
import numpy as np
import sympy as sp

import landscape_sde as lsde
from figures._style import plt, save
from models import FiniteSumValley

CONFIG = dict(sigma_r=4.0, n_samples=16, lrs=list(np.round(np.linspace(0.05, 1.5, 16), 3)),
              batch_sizes=[1, 2, 3, 4, 6, 8, 12, 16], n_steps=1000, n_replicas=1000, seed=3)
QUICK = {**CONFIG, "lrs": [0.1, 0.5, 1.0], "batch_sizes": [1, 4, 16], "n_steps": 200, "n_replicas": 100}


def compute(config):
    # λ = 1: with i.i.d. batches (c_b = 1/b) the loss-dependent strength is α = η σ_r² / b.
    fv = FiniteSumValley(sp.Integer(1), sigma_x=1e-3, sigma_y=1.0, sigma_r=config["sigma_r"],
                         n_samples=config["n_samples"])
    lrs, bs = config["lrs"], config["batch_sizes"]
    mean_loss = np.full((len(bs), len(lrs)), np.nan)
    diverged = np.zeros((len(bs), len(lrs)))
    for i, b in enumerate(bs):
        for j, lr in enumerate(lrs):
            ens = lsde.simulate(fv, lsde.SGD(lr, b, replace=True), [0.0, 0.0],
                                n_steps=config["n_steps"], n_replicas=config["n_replicas"],
                                save_every=config["n_steps"], rng=config["seed"])
            diverged[i, j] = ens.diverged.mean()
            mean_loss[i, j] = np.nanmean(ens.loss[-1]) if not ens.diverged.all() else np.inf
    # Almost-sure (path-wise) stability of y' = (1 − η(1 + σ_r r_B)) y + noise: the Lyapunov
    # exponent E ln|1 − η(1 + σ_r r_B)| < 0, with r_B the mean of b i.i.d. draws of the data's
    # r_n (Monte Carlo, 4·10⁵ batches, fixed seed).
    r = fv.data[2]
    gen = np.random.default_rng(0)
    eta = np.linspace(0.01, max(lrs), 300)
    as_bound = []
    for b in bs:
        rb = r[gen.integers(0, r.size, size=(400_000, b))].mean(axis=1)
        gamma = [np.mean(np.log(np.abs(1 - e * (1 + config["sigma_r"] * rb)))) for e in eta]
        crossing = np.nonzero(np.diff(np.sign(gamma)) > 0)[0]
        as_bound.append(eta[crossing[0]] if crossing.size else np.nan)
    return {"lrs": np.array(lrs), "batch_sizes": np.array(bs), "mean_loss": mean_loss,
            "diverged_fraction": diverged, "as_bound": np.array(as_bound)}


def plot(data, path):
    c = data["config"]
    lrs, bs = data["lrs"], data["batch_sizes"]
    s2 = c["sigma_r"] ** 2
    fig, ax = plt.subplots(figsize=(7, 4.5))
    z = np.log10(np.clip(np.where(np.isfinite(data["mean_loss"]), data["mean_loss"], 1e6), 1e-4, 1e6))
    mesh = ax.pcolormesh(lrs, bs, z, shading="nearest", cmap="magma", vmin=-3, vmax=4)
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\langle L\rangle$ after the run")
    eta = np.linspace(lrs.min(), lrs.max(), 200)
    ax.plot(eta, eta * s2 / 2, "c-", lw=2, label=r"SME bound $\alpha = \eta\sigma_r^2/b = 2$")
    ax.plot(eta, eta * s2 / (2 - eta), "w--", lw=2, label=r"SGD bound $\alpha + \eta\lambda = 2$")
    ax.plot(data["as_bound"], bs, "o-", color="lime", lw=1.5, ms=4,
            label="path-wise bound (Lyapunov exponent 0)")
    i, j = np.nonzero(data["diverged_fraction"] > 0)
    ax.plot(lrs[j], bs[i], "x", color="lime", ms=6, label="some paths diverged (|θ| > 1e10)")
    ax.set(xlabel="learning rate η", ylabel="batch size b (i.i.d.)", ylim=(bs.min() - 0.5, bs.max() + 0.5),
           xlim=(lrs.min() - 0.05, lrs.max() + 0.05),
           title="SGD with loss-dependent noise ($\\lambda$ = 1, $\\sigma_r$ = 4): mean loss over (η, b)")
    ax.legend(fontsize=7, loc="upper left", frameon=True, facecolor="white", framealpha=0.85)
    save(fig, path)
