"""Valley L = ½λ(x)y²: Fokker-Planck stationary density, a stationary ensemble, and p(x) ∝ F^κ.

The ensemble starts uniform along the valley floor and runs ``relaxation_times`` times the
slowest FP relaxation time ``1/rate`` (``rate`` = the spectral gap of the FP operator), so the
memory of the start is ``exp(−relaxation_times)`` of the initial deviation, far below the
Poisson error of a bin. Its marginal is compared with the FP marginal averaged over the same
bins: χ² over the bins with Poisson errors (±1 s.e.). The κ-panel solves the FP equation for
several anisotropies: ln p(x) against ln F(x) is a line of slope κ (κ = 1: no anisotropy, plain
Boltzmann, the purely entropic control).
"""
import numpy as np

import landscape_sde as lsde
from figures._style import CYCLE, DASHES, MARKERS, SE, letter, plt, save
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import Valley

CONFIG = dict(delta=0.02, kappa=4.0, shape=[96, 96], half_width=0.8, dt=0.02,
              relaxation_times=8.0, n_replicas=20_000, n_bins=48, n_bins_2d=[32, 16],
              kappas=[1.0, 2.0, 4.0], seed=1)
QUICK = {**CONFIG, "shape": [48, 48], "relaxation_times": 0.5, "n_replicas": 2000, "n_bins": 24,
         "kappas": [1.0, 4.0]}


def compute(config):
    hw = config["half_width"]
    grid = Grid([-np.pi, -hw], [np.pi, hw], config["shape"], boundary=("periodic", "reflecting"))
    scheme = lsde.AnisotropicLangevin(config["dt"])
    x, y = grid.axes()
    out = {"x": x, "y": y, "kappas": np.array(config["kappas"]), "kappa_fits": []}
    for kappa in config["kappas"]:  # the FP marginal for each anisotropy: ln p against ln F
        vk = Valley(delta=config["delta"], kappa=kappa)
        pk = grid.marginal(FokkerPlanck.from_model(vk, scheme, grid).stationary(), 0)
        out[f"marginal_fp_kappa_{kappa:g}"] = pk
        slope = np.polyfit(np.log(vk.flatness(x)), np.log(pk), 1)[0]
        out["kappa_fits"].append({"kappa": kappa, "slope": float(slope)})
    v = Valley(delta=config["delta"], kappa=config["kappa"])
    fp = FokkerPlanck.from_model(v, scheme, grid)
    p = fp.stationary()
    rate = fp.relaxation_rate()
    n_steps = int(np.ceil(config["relaxation_times"] / (rate * config["dt"])))
    n = config["n_replicas"]
    start = np.column_stack([np.linspace(-np.pi, np.pi, n, endpoint=False), np.zeros(n)])
    ens = lsde.simulate(v, scheme, start, n_steps=n_steps, n_replicas=n,
                        save_every=n_steps, rng=config["seed"])
    th = ens.theta[-1].copy()
    th[:, 0] = (th[:, 0] + np.pi) % (2 * np.pi) - np.pi  # x is periodic
    # ensemble marginal and its Poisson error; FP marginal averaged over the same bins
    nb = config["n_bins"]
    edges = np.linspace(-np.pi, np.pi, nb + 1)
    counts = np.histogram(th[:, 0], bins=edges)[0]
    width = edges[1] - edges[0]
    m_fp = grid.marginal(p, 0)
    fine = grid.shape[0] // nb
    fp_bins = m_fp.reshape(nb, fine).mean(axis=1)
    expected = fp_bins * width * n
    z = (counts - expected) / np.sqrt(expected)
    flat = v.flatness(x) ** config["kappa"]
    h2, _, _ = np.histogram2d(th[:, 0], th[:, 1], bins=config["n_bins_2d"],
                              range=[[-np.pi, np.pi], [-hw, hw]], density=True)
    return {**out, "density": p, "loss": lsde.fields.losses(v, grid.centers()).reshape(grid.shape),
            "curvature": v.curvature(x), "marginal_fp": m_fp,
            "marginal_theory": flat / (flat.sum() * grid.spacing[0]),
            "edges": edges, "hist_x": counts / (n * width), "hist_x_se": np.sqrt(counts) / (n * width),
            "fp_bins": fp_bins, "z": z, "hist_2d": h2,
            "chi2": float(np.sum(z**2)), "dof": nb - 1, "chi2_dof": float(np.sum(z**2) / (nb - 1)),
            "n_steps": n_steps, "time": n_steps * config["dt"],
            "relaxation_times_run": float(n_steps * config["dt"] * rate),
            "report": fp.report(p), "relaxation_rate": rate}


def plot(data, path):
    c = data["config"]
    x, y, p = data["x"], data["y"], data["density"]
    fig = plt.figure(figsize=(7.2, 5.0))
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 1])
    ax = fig.add_subplot(gs[0, 0])
    cf = ax.contourf(x, y, data["loss"].T, levels=12, cmap="Greys")
    cs = ax.contour(x, y, p.T, levels=6, cmap="viridis", linewidths=1)
    fig.colorbar(cf, ax=ax, label="loss L", shrink=0.9)
    ax.set(xlabel="x (along)", ylabel="y (across)", title="loss and FP density")
    ax0 = ax
    ax = fig.add_subplot(gs[0, 1])
    hw = c["half_width"]
    im = ax.imshow(data["hist_2d"].T, origin="lower", aspect="auto", cmap="viridis",
                   extent=[-np.pi, np.pi, -hw, hw])
    fig.colorbar(im, ax=ax, label="density", shrink=0.9)
    ax.set(xlabel="x", ylabel="y", title=f"ensemble ({c['n_replicas']})")
    ax1 = ax
    ax = fig.add_subplot(gs[0, 2])
    for k, kappa in enumerate(data["kappas"]):
        pk = data[f"marginal_fp_kappa_{kappa:g}"]
        lnF = -0.5 * np.log(data["curvature"])
        ax.plot(lnF - lnF.mean(), np.log(pk) - np.log(pk).mean(), color=CYCLE[k], ls=DASHES[k],
                lw=1.5, label=f"κ = {kappa:g}")
    slopes = ", ".join(f"{f['slope']:.2f}" for f in data["kappa_fits"])
    ax.set(xlabel=r"$\ln F(x)$ (centred)", ylabel=r"$\ln p(x)$ (centred)",
           title="ln p vs ln F (FP)")
    ax.text(0.97, 0.03, f"fitted slopes\n{slopes}", transform=ax.transAxes, ha="right", va="bottom")
    ax.legend(loc="upper left")
    ax2 = ax
    ax = fig.add_subplot(gs[1, :2])
    edges = data["edges"]
    mid = (edges[:-1] + edges[1:]) / 2
    ax.errorbar(mid, data["hist_x"], data["hist_x_se"], fmt="o", color=CYCLE[0], ms=3,
                label=f"ensemble ({SE}, Poisson)")
    ax.plot(x, data["marginal_fp"], color="k", lw=1.5, label="Fokker-Planck")
    ax.plot(x, data["marginal_theory"], color=CYCLE[1], ls="--", lw=1.2, label=r"adiabatic $F(x)^\kappa$")
    ax.set(xlabel="x (along the valley)", ylabel="p(x)",
           title=f"marginal p(x), κ = {c['kappa']:g}, after {data['relaxation_times_run']:.0f} "
                 "relaxation times")
    ax.legend(loc="upper center")
    ax.set_ylim(0, 1.1 * np.max(data["hist_x"] + data["hist_x_se"]))
    ax3 = ax
    ax = fig.add_subplot(gs[1, 2])
    ax.axhspan(-1, 1, color="0.85", lw=0)
    ax.plot(mid, data["z"], MARKERS[0], color=CYCLE[0], ms=3)
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="x", ylabel="(ensemble − FP) / s.e.", title="residuals", ylim=(-4, 4))
    ax.text(0.5, 0.97, f"χ²/dof = {data['chi2']:.0f}/{data['dof']}", transform=ax.transAxes,
            ha="center", va="top", bbox=dict(fc="white", ec="none", alpha=0.8))
    letter([ax0, ax1, ax2, ax3, ax])
    save(fig, path)
