"""Escape from a sharp and a flat minimum: SGD against Langevin at matched mean noise.

Model (``models.sharp_flat``): a 1-D finite sum with mean loss ``L = (x(θ)² − 1)²``, a flat
minimum (``L'' = h_f = 3.56``) and a sharp one (``h_s = 14.2``), both ``ΔL = 1`` below the
saddle (``L'' = −4``), and per-sample gradient spread ``C = F |L''|`` at the three critical
points (``F = σ²/8 = 10``). SGD: batch 1 with replacement, learning rate ``η``; its noise scale
is ``ε = η F``. Langevin: ``dθ = −L' dt + √(2T) dW`` integrated with ``dt = η`` at the matched
temperature ``T = ε (h_f + h_s)/4``, the SGD diffusion ``η C/2`` averaged over the two minima.
Escape time: first passage (stop on arrival) from the bottom of one minimum to the bottom of
the other, mean ± 1 s.e. over replicas, against ``1/ε``.

Lines: the Fokker-Planck backward solve (``FokkerPlanck.mfpt``) for the SME of the SGD (state
dependent diffusion ``η C(θ)/2``) and for Langevin; dotted, Xie, Sato & Sugiyama's formula
``τ = 2π/√(h_a|h_b|) exp[(2ΔL/ε)(s/h_a + (1 − s)/|h_b|)]`` at ``s = 1`` for SGD and Kramers'
``2π/√(h_a|h_b|) e^{ΔL/T}`` for Langevin. Panel (b): the ratio τ_flat/τ_sharp. What is shown:
Langevin escapes both minima at nearly the same rate (equal barriers; only the prefactor
differs), SGD escapes the sharp minimum exponentially faster than the flat one.
"""
import numpy as np

import landscape_sde as lsde
from figures._style import COLORS, SE, letter, log_ticks, plt, save
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from landscape_sde.passage import Level
from models.sharp_flat import (sharp_flat_geometry, sharp_flat_loss, sharp_flat_potential,
                               sharp_flat_well)

CONFIG = dict(kappa=1 / 3, sigma=float(np.sqrt(80.0)), n_samples=256, data_seed=0,
              inv_eps=[4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], n_replicas=1000, horizon=8.0, seed=21,
              grid=(-3.0, 2.0, 1500))
QUICK = {**CONFIG, "inv_eps": [4.0, 6.0], "n_replicas": 40, "grid": (-3.0, 2.0, 500)}


def _ensemble(model, scheme, start, target, n, tau_guess, horizon, seed):
    n_steps = int(np.ceil(horizon * tau_guess / scheme.step))
    ens = lsde.simulate(model, scheme, [start], n_steps=n_steps, n_replicas=n, save_every=n_steps,
                        rng=seed, stream=lsde.Streaming(coords=(), target=target, stop=True))
    k = ens.stats["first_passage"]
    t = np.where(k >= 0, k, n_steps) * scheme.step  # censored at the horizon (counted)
    return t.mean(), t.std(ddof=1) / np.sqrt(n), float((k >= 0).mean())


def exponent_coefficient(geo, start, n=200001):
    """Exact small-noise exponent of the 1-D SME, ``ε ∫ L'/D dθ`` from ``start`` to the saddle
    with ``D = ε C/(2F)`` (``C = g'²``): ``τ ≍ exp(coefficient/ε)``."""
    k, s = geo["kappa"], geo["sigma"]
    th = np.linspace(start, 0.0, n)
    x = np.expm1(k * th) / k
    xp = 1 + k * x
    dL = 4 * x * (x * x - 1) * xp
    C = s ** 2 * xp ** 2 * (1 + x * x) / 2
    f = dL / (C / (2 * geo["fisher"]))
    return float(abs(np.trapezoid(f, th)))


def compute(config):
    geo = sharp_flat_geometry(config["kappa"], config["sigma"])
    F, hb = geo["fisher"], abs(geo["h_saddle"])
    well = sharp_flat_well(config["kappa"], config["sigma"], config["n_samples"], rng=config["data_seed"])
    pot = sharp_flat_potential(config["kappa"])
    lo, hi, n_cells = config["grid"]
    grid = Grid([lo], [hi], (int(n_cells),))
    x = grid.axes()[0]
    cases = {"flat": (geo["theta_flat"], Level(0, geo["theta_sharp"]), geo["h_flat"]),
             "sharp": (geo["theta_sharp"], Level(0, geo["theta_flat"], "below"), geo["h_sharp"])}
    inv_eps = np.array(config["inv_eps"])
    out = {"inv_eps": inv_eps, "fisher": F, **{k: v for k, v in geo.items()}}
    for name, (start, target, h) in cases.items():
        i = int(np.argmin(np.abs(x - start)))
        rows = {key: [] for key in ("sgd", "sgd_se", "sgd_arrived", "lan", "lan_se", "lan_arrived",
                                    "sme_fp", "lan_fp", "xie", "kramers")}
        for j, ie in enumerate(inv_eps):
            eta = 1.0 / (ie * F)
            T = (geo["h_flat"] + geo["h_sharp"]) / (4 * ie)
            sgd = lsde.SGD(lr=eta, batch_size=1, replace=True)
            sme = lsde.SME(lr=eta, batch_size=1, replace=True)
            tau_sme = FokkerPlanck.from_model(well, sme, grid).mfpt(target.contains)[i]
            tau_lan = FokkerPlanck(grid, T, potential=lambda p: sharp_flat_loss(p[:, 0],
                                                                                 geo["kappa"])).mfpt(target.contains)[i]
            seed = config["seed"] + 100 * j + (name == "sharp")
            m, se, arr = _ensemble(well, sgd, start, target, config["n_replicas"], tau_sme,
                                   config["horizon"], seed)
            rows["sgd"].append(m), rows["sgd_se"].append(se), rows["sgd_arrived"].append(arr)
            m, se, arr = _ensemble(pot, lsde.Langevin(dt=eta, temperature=T), start, target,
                                   config["n_replicas"], tau_lan, config["horizon"], seed + 50)
            rows["lan"].append(m), rows["lan_se"].append(se), rows["lan_arrived"].append(arr)
            rows["sme_fp"].append(tau_sme), rows["lan_fp"].append(tau_lan)
            pre = 2 * np.pi / np.sqrt(h * hb)
            rows["xie"].append(pre * np.exp(2 * geo["barrier"] * ie / h))
            rows["kramers"].append(pre * np.exp(geo["barrier"] / T))
        for key, v in rows.items():
            out[f"{name}_{key}"] = np.array(v)
        # slopes d log τ / d(1/ε): least squares over all 1/ε (prefactors bend them slightly)
        coef = exponent_coefficient(geo, start)
        out[f"{name}_exact_coefficient"] = coef
        out[f"{name}_xie_coefficient_s1"] = 2 * geo["barrier"] / h
        out[f"{name}_implied_s"] = float((coef / (2 * geo["barrier"]) - 1 / hb) / (1 / h - 1 / hb))
        for key in ("sgd", "lan", "sme_fp"):
            y = np.log(out[f"{name}_{key}"])
            out[f"{name}_{key}_slope"] = float(np.polyfit(inv_eps, y, 1)[0])
    out["ratio_sgd"] = out["flat_sgd"] / out["sharp_sgd"]
    out["ratio_sgd_se"] = out["ratio_sgd"] * np.hypot(out["flat_sgd_se"] / out["flat_sgd"],
                                                      out["sharp_sgd_se"] / out["sharp_sgd"])
    out["ratio_lan"] = out["flat_lan"] / out["sharp_lan"]
    out["ratio_lan_se"] = out["ratio_lan"] * np.hypot(out["flat_lan_se"] / out["flat_lan"],
                                                      out["sharp_lan_se"] / out["sharp_lan"])
    out["ratio_sgd_last"] = float(out["ratio_sgd"][-1])
    out["ratio_lan_last"] = float(out["ratio_lan"][-1])
    return out


def plot(data, path):
    x = np.asarray(data["inv_eps"])
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0))
    ax = axes[0]
    for name, mk, mfc in (("flat", "o", None), ("sharp", "s", "white")):
        for dyn, fp, theory, color in (("sgd", "sme_fp", "xie", COLORS["SGD"]),
                                       ("lan", "lan_fp", "kramers", COLORS["Langevin"])):
            label = {"sgd": "SGD", "lan": "Langevin"}[dyn]
            ax.errorbar(x, data[f"{name}_{dyn}"], data[f"{name}_{dyn}_se"], fmt=mk, color=color,
                        mfc=mfc or color, label=f"{label}, {name} minimum")
            ax.plot(x, data[f"{name}_{fp}"], "-", color=color, lw=1)
            ax.plot(x, data[f"{name}_{theory}"], ":", color=color, lw=1)
    ax.plot([], [], "k-", lw=1, label="FP backward solve (SME / Langevin)")
    ax.plot([], [], "k:", lw=1, label="Xie et al. (s = 1) / Kramers")
    ax.set(yscale="log", xlabel="1 / ε   (ε = η F; Langevin T = ε (h_f + h_s)/4)",
           ylabel="mean escape time τ", title=f"escape time ({SE})", ylim=(1, 2e4))
    log_ticks(ax, "y")
    ax.legend(loc="upper left", fontsize=6.5)
    ax = axes[1]
    ax.errorbar(x, data["ratio_sgd"], data["ratio_sgd_se"], fmt="o-", color=COLORS["SGD"], label="SGD")
    ax.errorbar(x, data["ratio_lan"], data["ratio_lan_se"], fmt="^-", color=COLORS["Langevin"],
                label="Langevin")
    ax.plot(x, np.asarray(data["flat_sme_fp"]) / np.asarray(data["sharp_sme_fp"]), "k-", lw=0.8,
            label="FP, SME")
    ax.plot(x, np.asarray(data["flat_lan_fp"]) / np.asarray(data["sharp_lan_fp"]), "k--", lw=0.8,
            label="FP, Langevin")
    ax.set(yscale="log", xlabel="1 / ε", ylabel="τ_flat / τ_sharp", title=f"flat over sharp ({SE})")
    log_ticks(ax, "y")
    ax.legend(loc="upper left")
    letter(axes)
    save(fig, path)
