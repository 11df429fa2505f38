"""Weak error of the first- and second-order SME against SGD, log-log in η, one panel per
observable: a double well with state-dependent mini-batch noise (ensembles, SDEs
Richardson-extrapolated in dt), and a quadratic (closed forms).

SGD with b = 1 of N = 2 from θ0 = 1.3 to t = 0.4. (a, b): ℓ± = (θ²−1)²/4 ± s(θ + θ²/2);
ensembles of ``n_replicas`` (at the largest η) × η⁻⁴ replicas per run, each SME
Richardson-extrapolated from dt = η/2 and η/4; points ± 1 s.e., lines least-squares fits of
log|error| on log η, legend slopes with 90% block-bootstrap intervals. (c): SGD's exact
moments (linear recursion) against the exact Ornstein-Uhlenbeck moments of each SME, η = t/k
for k = 2-40 steps; dotted and dashed guides ∝ η and η², drawn at twice the curves.
"""
import numpy as np
import sympy as sp

import landscape_sde as lsde
from analysis import weak_order as wo
from figures._style import COLORS, CYCLE, DASHES, MARKERS, SE, letter, log_ticks, plt, save
from landscape_sde.symbolic import finite_sum
from models import Quadratic

CONFIG = dict(noise=0.05, theta0=1.3, t_final=0.4, lrs=[0.025, 0.05, 0.1], n_replicas=15_000,
              substeps=2, seed=5, quad_noise=1.0, quad_steps=list(range(2, 41)))
QUICK = {**CONFIG, "noise": 0.02, "lrs": [0.05, 0.1], "n_replicas": 400}
SCHEMES = ("SME-1", "SME-2")


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
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.8))
    ylabel = {"theta": "|E_SGD θ − E_SDE θ|", "loss": "|E_SGD L − E_SDE L|"}
    for ax, f in zip(axes, ("theta", "loss")):
        for k, s in enumerate(SCHEMES):
            col = CYCLE[k]
            err, se = np.abs(data[f"{s}_{f}_err"]), data[f"{s}_{f}_se"]
            lo = np.minimum(se, 0.9 * err)  # bars clipped above zero on the log axis
            lo_ci, hi_ci = data[f"{s}_{f}_ci"]
            ax.errorbar(lrs, err, yerr=[lo, se], fmt=MARKERS[k], ms=3.5, color=col, capsize=2,
                        label=f"{s}: {data[f'{s}_{f}_slope']:.2f} [{lo_ci:.2f}, {hi_ci:.2f}]")
            _fit_line(ax, lrs, err, data[f"{s}_{f}_slope"], col)
        ax.set(xscale="log", yscale="log", xlabel="learning rate η", ylabel=ylabel[f],
               title=f"double well, s = {c['noise']:g} ({SE})")
        log_ticks(ax, "x", lrs)
        log_ticks(ax, "y")
        lo_y, hi_y = ax.get_ylim()
        ax.set_ylim(lo_y, hi_y * 10)  # room for the legend above the data
        ax.legend(loc="upper left", title="slope [90% CI]", title_fontsize=7)
    ql = c["t_final"] / np.asarray(c["quad_steps"])
    for k, s in enumerate(SCHEMES):
        axes[2].plot(ql, data[f"quad_{s}"], color=CYCLE[k], ls=DASHES[k], lw=1.5, label=s)
    for p, s, ls in ((1, "SME-1", ":"), (2, "SME-2", "--")):  # guides, offset ×2 above
        axes[2].plot(ql, 2 * data[f"quad_{s}"][0] * (ql / ql[0]) ** p, color=COLORS["theory"],
                     lw=0.8, ls=ls, label=f"∝ η^{p}")
    axes[2].set(xscale="log", yscale="log", xlabel="learning rate η",
                ylabel="|E_SGD θ² − E_SDE θ²|", title=f"quadratic, C = {c['quad_noise']:g} (exact)")
    log_ticks(axes[2], "x")
    log_ticks(axes[2], "y")
    axes[2].legend(loc="lower right")
    letter(axes)
    save(fig, path)
