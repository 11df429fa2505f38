"""Yaida's adaptive schedule: drop η whenever the measured FDR1 holds within a tolerance."""
import numpy as np

import landscape_sde as lsde
from analysis import fdr
from figures._style import plt, save
from landscape_sde.rng import as_seed_sequence
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(widths=[4, 4, 4, 4], n_samples=256, n_test=2048, noise=1.0, lr=0.08, batch_size=8,
              drop=2.0, tol=0.1, window_epochs=4, n_windows=25, every=4, n_replicas=16)
QUICK = {**CONFIG, "n_windows": 5, "window_epochs": 1, "every": 2, "n_replicas": 4, "n_test": 256}


def yaida_schedule(net, theta, lr, config, rng, adaptive=True):
    """Windows of ``window_epochs`` epochs; each window measures FDR1 (origin: the replica-mean θ
    at the window's start, fixed before it) and, if ``|ratio − 1| < tol``, the next window runs
    at ``η / drop``. Returns per-window arrays."""
    n_steps = config["window_epochs"] * net.n_samples // config["batch_size"]
    seeds = as_seed_sequence(rng).spawn(config["n_windows"])
    rows = []
    for k, seed in enumerate(seeds):
        scheme = lsde.SGD(lr, config["batch_size"])
        rel, ens, _ = fdr.measure_fdr(net, scheme, theta, n_steps=n_steps, n_replicas=config["n_replicas"],
                                      every=config["every"], burn_in=0, rng=seed, origin=theta.mean(axis=0))
        theta = np.ascontiguousarray(ens.theta[-1])
        r = rel["FDR1"]
        rows.append([(k + 1) * config["window_epochs"], lr, r.ratio, r.ratio_se,
                     np.mean(ens.loss[-1]), np.mean([net.test_loss(t) for t in theta])])
        if adaptive and abs(r.ratio - 1) < config["tol"]:
            lr /= config["drop"]
    return np.array(rows)


def compute(config):
    net = DeepLinearNetwork.teacher_student(config["widths"], config["n_samples"], noise=config["noise"],
                                            n_test=config["n_test"], rng=0)
    th0 = np.tile(net.init(rng=1), (config["n_replicas"], 1))
    out = {}
    for name, adaptive in (("adaptive", True), ("constant", False)):
        rows = yaida_schedule(net, th0, config["lr"], config, rng=0, adaptive=adaptive)
        for i, key in enumerate(["epoch", "lr", "ratio", "ratio_se", "train", "test"]):
            out[f"{name}_{key}"] = rows[:, i]
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name, col in (("adaptive", "C3"), ("constant", "0.4")):
        ep = data[f"{name}_epoch"]
        axes[0].errorbar(ep, data[f"{name}_ratio"], data[f"{name}_ratio_se"], fmt="o-", color=col,
                         ms=3, lw=1, label=name)
        axes[1].step(ep, data[f"{name}_lr"], where="pre", color=col, label=name)
        axes[2].plot(ep, data[f"{name}_test"], "o-", color=col, ms=3, label=f"{name}: test")
        axes[2].plot(ep, data[f"{name}_train"], "s--", color=col, ms=3, mfc="none", label=f"{name}: train")
    tol = data["config"]["tol"]
    axes[0].axhspan(1 - tol, 1 + tol, color="C2", alpha=0.2, label=f"|ratio − 1| < {tol:g}: drop η")
    axes[0].set(xlabel="epoch", ylabel="⟨θ·∇L⟩ / ((η/2)⟨‖g_B‖²⟩) per window",
                title="FDR1 ratio (±1 SE)", ylim=(0, 3))
    axes[1].set(xlabel="epoch", ylabel="learning rate η", yscale="log", title="learning rate")
    hi = np.max(data["constant_test"][len(data["constant_test"]) // 3:])
    lo = np.min(data["adaptive_train"])
    axes[2].set(xlabel="epoch", ylabel="loss (replica mean)", title="loss at the end of each window",
                ylim=(lo - 0.02, hi + 0.1))
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(f"Yaida's FDR-driven schedule on teacher-student deep linear regression "
                 f"(η ÷ {data['config']['drop']:g} when FDR1 holds within {tol:g})", fontsize=10)
    save(fig, path)
