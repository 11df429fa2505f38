"""The effective SGD-loss L_SGD on the finite-sum valley: falls with flatness, grows with η/b."""
import numpy as np

import landscape_sde as lsde
from analysis.effective_loss import adiabatic_sgd_loss, sgd_loss
from figures._style import CYCLE, DASHES, letter, plt, save
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import FiniteSumValley

CONFIG = dict(sigma_x=0.5, sigma_y=1.0, n_samples=16,
              runs=[[0.05, 4], [0.1, 4], [0.2, 4], [0.1, 2], [0.1, 8]], shape=[64, 96])
QUICK = {**CONFIG, "shape": [32, 48], "runs": [[0.1, 4], [0.2, 4]]}


def compute(config):
    fv = FiniteSumValley(sigma_x=config["sigma_x"], sigma_y=config["sigma_y"],
                         n_samples=config["n_samples"])
    grid = Grid([0, -0.6], [2 * np.pi, 0.6], config["shape"], boundary=("periodic", "reflecting"))
    x = grid.axes()[0]
    L = lsde.fields.losses(fv, grid.centers()).reshape(grid.shape)
    floor = slice(grid.shape[1] // 2 - 1, grid.shape[1] // 2 + 1)
    out = {"x": x, "flatness": fv.flatness(x), "runs": []}
    for k, (lr, b) in enumerate(config["runs"]):
        delta, kappa, _ = fv.sme_parameters(lr, b)
        p = FokkerPlanck.from_model(fv, lsde.SME(lr, b), grid).stationary()
        ls = sgd_loss(p, grid, L, delta)[:, floor].mean(axis=1)
        out[f"sgd_loss_{k}"] = ls - ls.min()
        out[f"theory_{k}"] = adiabatic_sgd_loss(fv.flatness(x), delta, kappa)
        out["runs"].append({"lr": lr, "batch_size": b, "delta": delta, "kappa": kappa})
    return out


def plot(data, path):
    """(a) L_SGD against flatness; (b) the collapse L_SGD/Δ against ln F, slope −(κ − 1) for every
    (η, b); (c) the residual (FP − adiabatic)/Δ: the beyond-adiabatic correction; (d) L_SGD(x)."""
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.2))
    axes = axes.ravel()
    F = np.asarray(data["flatness"])
    order = np.argsort(F)
    lnF = np.log(F[order])
    for k, run in enumerate(data["runs"]):
        d = run["delta"]
        sim, th = np.asarray(data[f"sgd_loss_{k}"])[order], np.asarray(data[f"theory_{k}"])[order]
        kw = dict(color=CYCLE[k], ls=DASHES[k], lw=1.3)
        axes[0].plot(F[order], sim, label=f"η = {run['lr']:g}, b = {run['batch_size']} (Δ = {d:.3g})", **kw)
        axes[0].plot(F[order], th, "k:", lw=0.8)
        axes[1].plot(lnF, sim / d, **kw)
        axes[2].plot(lnF, (sim - th) / d, **kw)
        axes[3].plot(data["x"], data[f"sgd_loss_{k}"], **kw)
    kappa = data["runs"][0]["kappa"]
    axes[1].plot(lnF, -(kappa - 1) * (lnF - lnF.max()), "k:", lw=1.2, label=f"slope −(κ−1) = {1 - kappa:g}")
    axes[0].set(xlabel=r"flatness $F = \lambda^{-1/2}$", ylabel=r"$L_{SGD}$ on the floor",
                title="FP of the SME (lines), adiabatic (dotted)")
    axes[0].legend(fontsize=6.5)
    axes[1].set(xlabel=r"$\ln F$", ylabel=r"$L_{SGD}/\Delta$", title="collapse")
    axes[1].legend()
    axes[2].axhline(0, color="k", lw=0.8)
    axes[2].set(xlabel=r"$\ln F$", ylabel=r"(FP − adiabatic)/Δ", title="beyond-adiabatic residual")
    axes[3].set(xlabel="x (along the valley)", ylabel=r"$L_{SGD}(x)$", title="lowest where flattest (x = π)")
    letter(axes)
    save(fig, path)
