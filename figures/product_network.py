"""Product network: SGD drifts along the hyperbola of minima to the flattest one; GD does not."""
import numpy as np

import landscape_sde as lsde
from figures._style import plt, save
from landscape_sde.noise import batch_noise_factor
from models import ProductNetwork

CONFIG = dict(n_samples=64, label_noise=0.5, data_seed=0, w1_start=2.5, n_steps=3000,
              n_replicas=400, runs=[[0.05, 4], [0.1, 4], [0.1, 16]], seed=4)
QUICK = {**CONFIG, "n_steps": 300, "n_replicas": 50}


def compute(config):
    net = ProductNetwork(n_samples=config["n_samples"], label_noise=config["label_noise"],
                         rng=config["data_seed"])
    w0 = net.valley_point(config["w1_start"])
    save_at = np.linspace(0, config["n_steps"], 101).astype(int)
    out = {"product": net.product, "w0": w0, "runs": []}
    gd = lsde.simulate(net, lsde.GD(config["runs"][0][0]), w0, n_steps=config["n_steps"], save_at=save_at)
    out["gd_path"] = gd.theta[:, 0]
    e = net.sample_grads(w0)[:, 0] / w0[1]  # residual-weighted inputs at the start
    for k, (lr, b) in enumerate(config["runs"]):
        ens = lsde.simulate(net, lsde.SGD(lr, b), w0, n_steps=config["n_steps"],
                            n_replicas=config["n_replicas"], save_at=save_at, rng=config["seed"] + k)
        d = ens.theta[..., 0] ** 2 - ens.theta[..., 1] ** 2
        out[f"t_{k}"] = ens.t
        out[f"imbalance_{k}"] = d.mean(axis=1)
        out[f"paths_{k}"] = ens.theta[:, :4]
        out["runs"].append({"lr": lr, "batch_size": b,
                            "predicted_rate": lr**2 * batch_noise_factor(net.n_samples, b) * float(np.var(e))})
    out["m2"] = float(np.mean(net.x ** 2))
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"wspace": 0.45})
    ax = axes[0]
    w1 = np.linspace(0.45, 2.8, 300)
    w2 = data["product"] / w1
    sharp = data["m2"] * (w1**2 + w2**2)
    sc = ax.scatter(w1, w2, c=sharp, s=4, cmap="coolwarm")
    fig.colorbar(sc, ax=ax, label="sharpness on the valley  $m_2(w_1^2 + w_2^2)$")
    paths = np.asarray(data["paths_1"])
    for r in range(paths.shape[1]):
        ax.plot(paths[:, r, 0], paths[:, r, 1], lw=0.8, color="tab:red", alpha=0.8,
                label="SGD (4 replicas)" if r == 0 else None)
    gd = np.asarray(data["gd_path"])
    ax.plot(gd[:, 0], gd[:, 1], "o", color="0.3", ms=7, mfc="none", label="GD (stays put)")
    ax.plot(*data["w0"], "k*", ms=12, label="start")
    ax.set(xlabel="$w_1$", ylabel="$w_2$", xlim=(0.4, 2.8), ylim=(0.2, 2.2), aspect="equal",
           title="minima: $w_1 w_2$ = Σxy/Σx²; flattest at $|w_1| = |w_2|$")
    ax.legend(fontsize=7)
    ax = axes[1]
    for k, run in enumerate(data["runs"]):
        t = np.asarray(data[f"t_{k}"])
        d = np.asarray(data[f"imbalance_{k}"])
        line, = ax.semilogy(t, d, lw=2, label=f"SGD η = {run['lr']:g}, b = {run['batch_size']}")
        ax.semilogy(t, d[0] * np.exp(-run["predicted_rate"] * t), ":", color=line.get_color())
    ax.semilogy(np.linspace(0, t[-1], len(gd)), gd[:, 0] ** 2 - gd[:, 1] ** 2, "k-", label="GD")
    ax.set(xlabel="step", ylabel=r"$\langle w_1^2 - w_2^2\rangle$",
           title=r"initial decay rate $\eta^2 c_b \mathrm{Var}(e)$ (dotted): $\propto \eta^2/b$")
    ax.legend(fontsize=7)
    fig.suptitle("Two-weight product network with label noise: SGD finds the flattest minimum", fontsize=10)
    save(fig, path)
