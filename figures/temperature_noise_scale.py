"""Effective temperature T_eff = ⟨θ·∇L⟩/tr H of SGD on a quadratic against the noise scale g.

T_eff is the temperature of an isotropic covariance S = T·I with the same ⟨θ·∇L⟩ = tr(HS) (the
"isotropic" convention; the stationary figures' Langevin temperature tr(HS)/dim is the
equipartition one, S = T·H⁻¹). Under additive noise T_eff/T_SME depends on η only, so panel (b)
plots it against η: one point per b (slightly offset), the exact discrete-Lyapunov value and
its O(η²) expansion as lines through the stored per-η values. Errors ±1 s.e. (batch means).
"""
import numpy as np

import landscape_sde as lsde
from analysis import fdr
from analysis.noise_scale import noise_scale
from figures._style import CYCLE, MARKERS, SE, letter, log_ticks, plt, save
from landscape_sde.noise import batch_noise_factor
from models import Quadratic

CONFIG = dict(lrs=[0.05, 0.1, 0.2, 0.4, 0.8], batch_sizes=[1, 2, 4, 8], n_samples=16,
              n_replicas=32, n_steps=4000, burn_in=500, every=10)
QUICK = {**CONFIG, "lrs": [0.1, 0.8], "batch_sizes": [2, 8], "n_replicas": 8, "n_steps": 1000,
         "burn_in": 200}

H = np.array([[1.5, 0.3], [0.3, 0.6]])
C = np.array([[1.0, 0.2], [0.2, 0.5]])


def compute(config):
    n = config["n_samples"]
    quad = Quadratic(H, C, n_samples=n)
    rows = []
    for lr in config["lrs"]:
        for b in config["batch_sizes"]:
            rel = fdr.measure_fdr(quad, lsde.SGD(lr, b), np.zeros(2), n_steps=config["n_steps"],
                                  n_replicas=config["n_replicas"], every=config["every"],
                                  burn_in=config["burn_in"], rng=1)[0]["FDR1"]
            pred = fdr.quadratic_temperature(H, batch_noise_factor(n, b) * C, lr)
            rows.append([lr, b, noise_scale(lr, b, n), *fdr.effective_temperature(rel, np.trace(H)),
                         pred["exact"], pred["sme"], pred["second_order"]])
    rows = np.array(rows)
    names = ["lr", "b", "g", "T_dissipation", "T_dissipation_se", "T_fluctuation", "T_fluctuation_se",
             "T_exact", "T_sme", "T_second_order"]
    out = {k: rows[:, i] for i, k in enumerate(names)}
    out["sme_slope"] = float(np.trace(C) / (2 * (n - 1) * np.trace(H)))  # T_sme = slope · g
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0))
    g = data["g"]
    gg = np.geomspace(g.min() / 1.5, g.max() * 1.5, 50)
    axes[0].plot(gg, data["sme_slope"] * gg, "k-", lw=1, label="SME: g tr C/(2(N−1) tr H)")
    lrs = np.unique(data["lr"])
    bs = np.unique(data["b"])
    for k, lr in enumerate(lrs):
        m = data["lr"] == lr
        col = CYCLE[k]
        axes[0].errorbar(g[m], data["T_dissipation"][m], data["T_dissipation_se"][m], fmt="o",
                         color=col, mfc="none", ms=5, label=f"η = {lr:g}")
        axes[0].errorbar(g[m], data["T_fluctuation"][m], data["T_fluctuation_se"][m], fmt="x",
                         color=col, ms=5)
        axes[0].plot(g[m], data["T_exact"][m], "s", color=col, mfc="none", ms=7, mew=0.8)
    for j, b in enumerate(bs):
        m = data["b"] == b
        x = data["lr"][m] * 1.04 ** (j - (len(bs) - 1) / 2)
        axes[1].errorbar(x, data["T_dissipation"][m] / data["T_sme"][m],
                         data["T_dissipation_se"][m] / data["T_sme"][m], fmt=MARKERS[j], color=CYCLE[j],
                         ms=3.5, ls="none", label=f"b = {int(b)}")
    first = np.array([np.nonzero(data["lr"] == lr)[0][0] for lr in lrs])
    axes[1].plot(lrs, data["T_exact"][first] / data["T_sme"][first], "k-", lw=1, label="exact (Lyapunov)")
    axes[1].plot(lrs, data["T_second_order"][first] / data["T_sme"][first], "k--", lw=1, label="to O(η²)")
    axes[1].axhline(1, color="k", ls=":", lw=0.8)
    axes[0].set(xscale="log", yscale="log", xlabel="noise scale g = η(N/b − 1)", ylabel=r"$T_{eff}$",
                title="o dissipation, x fluctuation, □ exact")
    axes[0].legend(fontsize=6.5)
    axes[1].set(xscale="log", xlabel="learning rate η", ylabel=r"$T_{eff}/T_{SME}$ (dissipation)",
                title=f"SGD runs hotter than its SME ({SE})")
    log_ticks(axes[0], "x")
    log_ticks(axes[0], "y")
    log_ticks(axes[1], "x", lrs)
    axes[1].legend(fontsize=6.5, loc="upper left")
    letter(axes)
    save(fig, path)
