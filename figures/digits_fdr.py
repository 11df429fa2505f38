"""Fluctuation-dissipation relations of SGD on the digits, over a scan of η and b: the
linear-learning identity ``⟨L⟩ − L* = (η/4)⟨‖g_B‖²⟩`` of softmax regression with the MSE loss
on one-hot targets (Han, Park, Lee & Han, 2021), and Yaida's FDR1 ``⟨θ·∇L⟩ = (η/2)⟨‖g_B‖²⟩`` for
softmax regression with cross-entropy (30% labels randomised, so that a minimum exists), a
loss that is not quadratic."""
import numpy as np

import landscape_sde as lsde
from analysis.fdr import FDRObserver, linear_learning_relations, yaida_relations
from figures._digits import digits_model, one_blas_thread
from figures._style import plt, save

SETTINGS = {
    "linear": dict(n_train=None, width=0, loss="mse", lrs=[0.002, 0.005, 0.01],
                   batch_sizes=[8, 32, 128]),
    "yaida": dict(n_train=None, width=0, loss="cross_entropy", label_noise=0.3, noise_seed=0,
                  lrs=[0.05, 0.1, 0.2, 0.4], batch_sizes=[8, 32, 128], warm_lr=2.0, warm_steps=6000),
}
CONFIG = dict(settings=SETTINGS, n_steps=12000, burn_in=4000, every=50, n_replicas=2, n_batches=10,
              seed=1)
QUICK = dict(settings={k: {**v, "n_train": 200, "lrs": v["lrs"][:1], "batch_sizes": [32],
                           "warm_steps": 200} for k, v in SETTINGS.items()},
             n_steps=400, burn_in=100, every=20, n_replicas=2, n_batches=4, seed=1)


def _start(model, s):
    """Where SGD starts and θ's origin: the least-squares solution (MSE), or the end of a GD
    run from 0 (cross-entropy; FDR1 holds for any fixed origin)."""
    if s["loss"] == "mse":
        return model.least_squares()
    ens = lsde.simulate(model, lsde.GD(s["warm_lr"]), np.zeros(model.dim), n_steps=s["warm_steps"],
                        save_every=s["warm_steps"])
    return ens.theta[-1, 0]


def compute(config):
    out = {"cells": {}}
    with one_blas_thread():
        for name, s in config["settings"].items():
            model = digits_model(s)
            theta0 = _start(model, s)
            min_loss = model.loss(theta0)
            cells = []
            for lr in s["lrs"]:
                for b in s["batch_sizes"]:
                    scheme = lsde.SGD(lr, b)
                    obs = FDRObserver(model, scheme, theta0)
                    ens = lsde.simulate(model, scheme, theta0, n_steps=config["n_steps"],
                                        n_replicas=config["n_replicas"], save_at=[0], rng=config["seed"],
                                        observe={"fdr": obs.spec(config["every"])})
                    cell = {"lr": lr, "batch_size": b, "n_diverged": int(ens.diverged.sum())}
                    if not cell["n_diverged"]:
                        kw = dict(burn_in=config["burn_in"], n_batches=config["n_batches"])
                        rel = (linear_learning_relations(ens, obs, min_loss, **kw)["trace"]
                               if name == "linear" else yaida_relations(ens, obs, **kw)["FDR1"])
                        cell.update(lhs=float(rel.lhs), lhs_se=float(rel.lhs_se), rhs=float(rel.rhs),
                                    rhs_se=float(rel.rhs_se), ratio=rel.ratio, ratio_se=rel.ratio_se,
                                    z=float(rel.z), drift_z=rel.drift_z, holds=rel.holds)
                    cells.append(cell)
            out["cells"][name] = cells
            out[f"{name}_ratio"] = np.array([[c["lr"], c["batch_size"], c.get("ratio", np.nan),
                                              c.get("ratio_se", np.nan)] for c in cells])
            out[f"{name}_min_loss"] = min_loss
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    titles = {"linear": "MSE, one-hot targets: (⟨L⟩ − L*) / ((η/4)⟨‖g_B‖²⟩)",
              "yaida": "cross-entropy: ⟨θ·∇L⟩ / ((η/2)⟨‖g_B‖²⟩)  (FDR1)"}
    markers = "osD^v"
    for ax, (name, cells) in zip(axes, data["cells"].items()):
        s = data["config"]["settings"][name]
        for j, b in enumerate(s["batch_sizes"]):
            rows = [c for c in cells if c["batch_size"] == b and not c["n_diverged"]]
            x = np.array([c["lr"] for c in rows]) * (1 + 0.04 * (j - 1))  # small offsets
            ax.errorbar(x, [c["ratio"] for c in rows], yerr=[c["ratio_se"] for c in rows],
                        marker=markers[j], ls="none", capsize=2, label=f"b = {b}")
            for c in cells:
                if c["batch_size"] == b and c["n_diverged"]:
                    ax.plot(c["lr"], 1.0, marker="x", color="red", ls="none")
        ax.axhline(1.0, color="gray", ls=":", lw=1.2)
        ax.set(xscale="log", xlabel="learning rate η", ylabel="left side / right side",
               title=titles[name], ylim=(0.9, 1.1))
        ax.legend(fontsize=7)
    c = data["config"]
    fig.suptitle(f"SGD on the digits, softmax regression (all 1,438 images): both sides averaged over "
                 f"{c['n_replicas']} runs × steps {c['burn_in']}–{c['n_steps']}; ± 1 s.e. by batch means "
                 f"(red ×: diverged);\nthe same seeds in every cell, so errors at one b are correlated across η", fontsize=9)
    fig.tight_layout()
    save(fig, path)
