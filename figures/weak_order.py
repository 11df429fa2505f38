"""Weak error of the first- and second-order SME against SGD, log-log in η, one panel per
observable: a double well with state-dependent mini-batch noise (ensembles, SDEs
Richardson-extrapolated in dt), and a quadratic (closed forms)."""
import numpy as np
import sympy as sp

import landscape_sde as lsde
from analysis import weak_order as wo
from figures._style import COLORS, plt, save
from landscape_sde.symbolic import finite_sum
from models import Quadratic

CONFIG = dict(noise=0.05, theta0=1.3, t_final=0.4, lrs=[0.025, 0.05, 0.1], n_replicas=15_000,
              substeps=2, seed=5, quad_noise=1.0, quad_steps=list(range(2, 41)))
QUICK = {**CONFIG, "noise": 0.02, "lrs": [0.05, 0.1], "n_replicas": 400}
SCHEMES = {"SME-1": ("#d62728", "o"), "SME-2": ("#9467bd", "s")}


def double_well(noise):
    """``ℓ_± = (θ² − 1)²/4 ± noise·(θ + θ²/2)``: gradient noise of s.d. ``noise·|1 + θ|``."""
    x, a, c = sp.symbols("x a c")
    return finite_sum((x**2 - 1)**2 / 4 + a * x + c * x**2 / 2, [x],
                      {(a, c): [[noise, noise], [-noise, -noise]]})


def _quadratic_errors(c):
    model = Quadratic([[1.0]], [[c["quad_noise"]]], n_samples=2)
    out = {}
    t = c["t_final"]
    for k in c["quad_steps"]:
        lr, m = t / k, {}
        for method in ("sgd", "sme1", "sme2"):
            mean, cov = wo.quadratic_moments(model, lr, t, [c["theta0"]], method=method, batch_size=1)
            m[method] = mean[0] ** 2 + cov[0, 0]
        for name, method in (("SME-1", "sme1"), ("SME-2", "sme2")):
            out.setdefault(name, []).append(abs(m["sgd"] - m[method]))
    return {f"quad_{k}": np.array(v) for k, v in out.items()}


def compute(config):
    c = config
    schemes = {"SGD": lsde.SGD(0.1, 1), "SME-1": lsde.SME(0.1, 1), "SME-2": lsde.SME(0.1, 1, order=2)}
    obs = {"theta": lambda th: th[:, 0], "loss": lambda th: (th[:, 0] ** 2 - 1) ** 2 / 4}
    r = wo.weak_error(double_well(c["noise"]), schemes, obs, c["lrs"], c["t_final"],
                      c["n_replicas"], rng=c["seed"], theta0=[c["theta0"]], substeps=c["substeps"])
    out = {"config": c, "lrs": r.lrs, "n_replicas": r.n_replicas["SGD"], "level": r.level}
    for s in SCHEMES:
        for f in obs:
            out[f"{s}_{f}_err"], out[f"{s}_{f}_se"] = r.error[s][f], r.error_se[s][f]
            out[f"{s}_{f}_slope"], out[f"{s}_{f}_ci"] = r.slope[s][f], list(r.ci[s][f])
    return {**out, **_quadratic_errors(c)}


def _fit_line(ax, lrs, err, slope, color):
    x = np.log(lrs)
    intercept = np.mean(np.log(np.abs(err))) - slope * x.mean()
    grid = np.geomspace(lrs.min() / 1.3, lrs.max() * 1.3, 20)
    ax.plot(grid, np.exp(intercept) * grid ** slope, color=color, lw=1)


def plot(data, path):
    c = data["config"]
    lrs = np.asarray(data["lrs"])
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.8))
    titles = {"theta": "(a) double well: E θ", "loss": "(b) double well: E L(θ)"}
    for ax, f in zip(axes, ("theta", "loss")):
        for s, (col, mk) in SCHEMES.items():
            err, se = np.abs(data[f"{s}_{f}_err"]), data[f"{s}_{f}_se"]
            lo = np.minimum(se, 0.9 * err)  # bars clipped above zero on the log axis
            lo_ci, hi_ci = data[f"{s}_{f}_ci"]
            ax.errorbar(lrs, err, yerr=[lo, se], fmt=mk, ms=4, color=col, capsize=2,
                        label=f"{s}: slope {data[f'{s}_{f}_slope']:.2f} "
                              f"[{lo_ci:.2f}, {hi_ci:.2f}]")
            _fit_line(ax, lrs, err, data[f"{s}_{f}_slope"], col)
        ax.set(xscale="log", yscale="log", xlabel="learning rate η",
               ylabel=r"$|E_{SGD} f - E_{SDE} f|$ at t = " + f"{c['t_final']}", title=titles[f])
        ax.set_xticks(lrs, [f"{v:g}" for v in lrs])
        ax.minorticks_off()
        ax.legend(fontsize=7, loc="upper left",
                  title=f"fit, {int(100 * data['level'])}% bootstrap CI", title_fontsize=7)
    ql = c["t_final"] / np.asarray(c["quad_steps"])
    for s, (col, _) in SCHEMES.items():
        axes[2].plot(ql, data[f"quad_{s}"], color=col, lw=1.5, label=s)
    for p, s, ls in ((1, "SME-1", ":"), (2, "SME-2", "--")):  # guides, offset ×2 above
        axes[2].plot(ql, 2 * data[f"quad_{s}"][0] * (ql / ql[0]) ** p, color=COLORS["theory"],
                     lw=0.8, ls=ls, label=f"∝ η^{p}")
    axes[2].set(xscale="log", yscale="log", xlabel="learning rate η",
                ylabel=r"$|E_{SGD}\,\theta^2 - E_{SDE}\,\theta^2|$",
                title=f"(c) quadratic ½θ², C = {c['quad_noise']:g}: E θ² (closed forms)")
    axes[2].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"Weak error of the SMEs against SGD (b = 1 of N = 2), θ0 = {c['theta0']}, to t = "
        f"{c['t_final']}. (a, b): ℓ± = (θ²−1)²/4 ± {c['noise']:g}(θ + θ²/2); ensembles of "
        f"{data['n_replicas'][-1]:,} (η = {lrs[-1]:g}) to {data['n_replicas'][0]:,} "
        f"(η = {lrs[0]:g}) replicas (∝ η⁻⁴) per run, each SME "
        f"Richardson-extrapolated from dt = η/{c['substeps']} and η/{2 * c['substeps']}; "
        "bars ±1 standard error,\nlines least-squares fits of log|error| on log η. (c): SGD's "
        "exact moments (linear recursion) against the exact Ornstein-Uhlenbeck moments of each "
        "SME, η = t/k for k = 2-40 steps.", fontsize=8, y=1.06)
    save(fig, path)
