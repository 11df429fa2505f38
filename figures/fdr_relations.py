"""Yaida's fluctuation-dissipation relations: both sides against η, with and without momentum."""
import numpy as np
from matplotlib.ticker import NullFormatter

import landscape_sde as lsde
from analysis import fdr
from figures._style import plt, save
from models import LinearRegression, Quadratic
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(lrs=[0.05, 0.1, 0.2, 0.4, 0.8], momentum=0.5, batch_size=2, n_replicas=64,
              n_steps=6000, burn_in=1000, every=10, dln_lrs=[0.05, 0.1, 0.2], dln_steps=20000)
QUICK = {**CONFIG, "lrs": [0.1, 0.4], "n_replicas": 16, "n_steps": 1500, "burn_in": 300,
         "dln_lrs": [0.2], "dln_steps": 3000}


def _systems():
    H = np.array([[1.5, 0.3], [0.3, 0.6]])
    quad = Quadratic(H, np.array([[1.0, 0.2], [0.2, 0.5]]), n_samples=8, center=[0.5, -0.3])
    lin = LinearRegression.teacher_student(32, 3, noise=0.5, rng=2)
    return quad, lin


def compute(config):
    quad, lin = _systems()
    w = lin.minimizer()
    out = {"lrs": np.array(config["lrs"]), "dln_lrs": np.array(config["dln_lrs"])}
    run = dict(n_steps=config["n_steps"], n_replicas=config["n_replicas"], every=config["every"],
               burn_in=config["burn_in"], rng=1)
    b = config["batch_size"]
    keys = ["quad", "quad_mom_v", "quad_mom_g", "linreg", "linreg_han"]
    rows = {k: [] for k in keys}
    for lr in config["lrs"]:
        rel = fdr.measure_fdr(quad, lsde.SGD(lr, b), quad.center, origin=quad.center, **run)[0]
        rows["quad"].append(rel["FDR1"])
        # heavy ball is stable for η λ < 2(1 + μ); keep η λ_max < 2
        lr_m = min(lr, 1.2)
        rel = fdr.measure_fdr(quad, lsde.SGD(lr_m, b, momentum=config["momentum"]), quad.center,
                              origin=quad.center, **run)[0]
        rows["quad_mom_v"].append(rel["FDR1"])
        rows["quad_mom_g"].append(rel["FDR1_noise_scale"])
        lr_l = lr / 4  # linear regression: λ_max ≈ 3
        obs = fdr.FDRObserver(lin, lsde.SGD(lr_l, b), origin=w)
        ens = lsde.simulate(lin, obs.scheme, w, n_steps=run["n_steps"], n_replicas=run["n_replicas"],
                            save_at=[0], rng=3, observe={"fdr": obs.spec(run["every"])})
        rows["linreg"].append(fdr.yaida_relations(ens, obs, burn_in=run["burn_in"])["FDR1"])
        rows["linreg_han"].append(fdr.linear_learning_relations(ens, obs, lin.loss(w),
                                                                burn_in=run["burn_in"])["trace"])
    net = DeepLinearNetwork.teacher_student([3, 3, 3, 2], 32, noise=0.5, rng=3)
    rows["dln"] = []
    for lr in config["dln_lrs"]:
        scheme = lsde.SGD(lr, 8)
        eq = lsde.simulate(net, scheme, net.init(rng=1), n_steps=2 * config["dln_steps"],
                           n_replicas=32, save_at=[0], rng=5)
        rows["dln"].append(fdr.measure_fdr(net, scheme, eq.theta[-1], n_steps=config["dln_steps"],
                                           n_replicas=32, every=40, burn_in=0, rng=6,
                                           origin=eq.theta[-1].mean(axis=0))[0]["FDR1"])
    for k, rels in rows.items():
        for field in ("lhs", "rhs", "lhs_se", "rhs_se", "ratio", "ratio_se"):
            out[f"{k}_{field}"] = np.array([float(getattr(r, field)) for r in rels])
        out[f"{k}_holds"] = [bool(r.holds) for r in rels]
    out["lin_lrs"] = np.array(config["lrs"]) / 4
    out["mom_lrs"] = np.minimum(np.array(config["lrs"]), 1.2)
    return out


LABELS = {"quad": ("quadratic, μ = 0", "C0", "lrs"),
          "quad_mom_v": ("quadratic, μ = 0.5, (1+μ)/(2η)⟨‖v‖²⟩", "C1", "mom_lrs"),
          "quad_mom_g": ("quadratic, μ = 0.5, η⟨‖g_B‖²⟩/(2(1−μ)) (leading order)", "C3", "mom_lrs"),
          "linreg": ("linear regression", "C2", "lin_lrs"),
          "linreg_han": ("lin. reg., ⟨L⟩−L* vs (η/4)⟨‖g_B‖²⟩", "C4", "lin_lrs"),
          "dln": ("deep linear net (3 layers)", "C5", "dln_lrs")}


def plot(data, path):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for k, (lab, col, xs) in LABELS.items():
        x = np.asarray(data[xs])
        axes[0].errorbar(x, data[f"{k}_lhs"], data[f"{k}_lhs_se"], fmt="o", color=col, ms=5,
                         mfc="none", label=f"{lab}: dissipation")
        axes[0].errorbar(x, data[f"{k}_rhs"], data[f"{k}_rhs_se"], fmt="x", color=col, ms=5)
        axes[1].errorbar(x, data[f"{k}_ratio"], data[f"{k}_ratio_se"], fmt="o-", color=col,
                         ms=4, lw=1, label=lab)
        axes[2].errorbar(data[f"{k}_lhs"], data[f"{k}_rhs"], xerr=data[f"{k}_lhs_se"],
                         yerr=data[f"{k}_rhs_se"], fmt="o", color=col, ms=4, label=lab)
    axes[0].set(xscale="log", yscale="log", xlabel="learning rate η",
                ylabel="dissipation ⟨θ·∇L⟩ (o), fluctuation side (x)", title="both sides against η")
    axes[1].axhline(1, color="k", lw=0.8)
    axes[1].set(xscale="log", xlabel="learning rate η", ylabel="dissipation / fluctuation",
                title="ratio (1 = relation holds); ±1 SE")
    axes[1].legend(fontsize=6, loc="lower left")
    lo = min(np.min(data[f"{k}_lhs"]) for k in LABELS) / 2
    hi = max(np.max(data[f"{k}_lhs"]) for k in LABELS) * 2
    axes[2].plot([lo, hi], [lo, hi], "k-", lw=0.8, label="y = x")
    axes[2].set(xscale="log", yscale="log", xlabel="dissipation side", ylabel="fluctuation side",
                title="fluctuation vs dissipation, y = x")
    for ax in axes[:2]:
        ax.xaxis.set_minor_formatter(NullFormatter())
    fig.suptitle("Yaida's FDR1 ⟨θ·∇L⟩ = (η/2)⟨‖g_B‖²⟩ at stationarity (with momentum: "
                 "(1+μ)/(2η)⟨‖v‖²⟩); the g_B-only momentum form is leading order in η", fontsize=10)
    save(fig, path)
