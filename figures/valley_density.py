"""Valley L = ½λ(x)y²: Fokker-Planck stationary density, ensemble histogram, and p(x) ∝ F^κ."""
import numpy as np

import landscape_sde as lsde
from figures._style import plt, save
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import Valley

CONFIG = dict(delta=0.02, kappa=4.0, shape=[96, 96], half_width=0.8, dt=0.02,
              n_steps=20_000, n_replicas=20_000, seed=1)
QUICK = {**CONFIG, "shape": [48, 48], "n_steps": 2000, "n_replicas": 2000}


def compute(config):
    v = Valley(delta=config["delta"], kappa=config["kappa"])
    hw = config["half_width"]
    grid = Grid([-np.pi, -hw], [np.pi, hw], config["shape"], boundary=("periodic", "reflecting"))
    scheme = lsde.AnisotropicLangevin(config["dt"])
    fp = FokkerPlanck.from_model(v, scheme, grid)
    p = fp.stationary()
    start = np.column_stack([np.linspace(-np.pi, np.pi, config["n_replicas"], endpoint=False),
                             np.zeros(config["n_replicas"])])
    ens = lsde.simulate(v, scheme, start, n_steps=config["n_steps"], n_replicas=config["n_replicas"],
                        save_every=config["n_steps"], rng=config["seed"])
    th = ens.theta[-1].copy()
    th[:, 0] = (th[:, 0] + np.pi) % (2 * np.pi) - np.pi  # x is periodic
    x, y = grid.axes()
    flat = v.flatness(x) ** config["kappa"]
    return {"x": x, "y": y, "density": p, "loss": lsde.fields.losses(v, grid.centers()).reshape(grid.shape),
            "samples": th[:5000], "marginal_fp": grid.marginal(p, 0),
            "marginal_theory": flat / (flat.sum() * grid.spacing[0]),
            "hist_x": np.histogram(th[:, 0], bins=48, range=(-np.pi, np.pi), density=True)[0],
            "report": fp.report(p), "relaxation_rate": fp.relaxation_rate()}


def plot(data, path):
    c = data["config"]
    x, y, p = data["x"], data["y"], data["density"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    ax = axes[0]
    ax.contourf(x, y, data["loss"].T, levels=20, cmap="Greys")
    cs = ax.contour(x, y, p.T, levels=8, cmap="viridis")
    ax.clabel(cs, fontsize=6, fmt="%.2g")
    ax.set(xlabel="x (along the valley)", ylabel="y (across)",
           title="loss (grey) and FP stationary density")
    ax = axes[1]
    s = data["samples"]
    ax.hist2d(s[:, 0], s[:, 1], bins=[48, 48], range=[[x[0], x[-1]], [y[0], y[-1]]], cmap="viridis")
    ax.set(xlabel="x", ylabel="y", title=f"{c['n_replicas']} replicas, AnisotropicLangevin")
    ax = axes[2]
    edges = np.linspace(-np.pi, np.pi, 49)
    ax.stairs(data["hist_x"], edges, color="tab:blue", label="ensemble")
    ax.plot(x, data["marginal_fp"], color="k", lw=2, alpha=0.6, label="Fokker-Planck")
    ax.plot(x, data["marginal_theory"], "r--", label=r"adiabatic $F(x)^\kappa$")
    ax.set(xlabel="x", ylabel="p(x)", title="marginal along the valley")
    ax.legend(fontsize=7)
    ax2 = ax.twinx()
    lam = 1 + 0.5 * np.cos(x)
    ax2.plot(x, lam, color="0.6", lw=0.8)
    ax2.set_ylabel(r"curvature $\lambda(x)$ (grey)", color="0.5")
    fig.suptitle(fr"Valley $L = \frac{{1}}{{2}}\lambda(x) y^2$, $\lambda = 1 + \frac{{1}}{{2}}\cos x$; "
                 fr"noise $\Delta$ = {c['delta']} across, $\Delta/\kappa$ along ($\kappa$ = {c['kappa']:g}): "
                 "the flat side (x = ±π) holds the mass", fontsize=10, y=1.04)
    save(fig, path)
