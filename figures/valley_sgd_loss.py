"""The effective SGD-loss L_SGD on the finite-sum valley: falls with flatness, grows with η/b."""
import numpy as np

import landscape_sde as lsde
from analysis.effective_loss import adiabatic_sgd_loss, sgd_loss
from figures._style import plt, save
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
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    order = np.argsort(data["flatness"])
    for k, run in enumerate(data["runs"]):
        lab = f"η = {run['lr']:g}, b = {run['batch_size']}  (Δ = {run['delta']:.3g})"
        line, = axes[0].plot(data["flatness"][order], data[f"sgd_loss_{k}"][order], lw=2, label=lab)
        axes[0].plot(data["flatness"][order], data[f"theory_{k}"][order], "k:", lw=1)
        axes[1].plot(data["x"], data[f"sgd_loss_{k}"], color=line.get_color(), lw=2)
    axes[0].set(xlabel=r"flatness $F = \lambda^{-1/2}$", ylabel=r"$L_{SGD}$ on the valley floor",
                title=r"FP of SGD's SME (solid) vs $-(\kappa-1)\Delta\ln F$ (dotted)")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="x (along the valley)", ylabel=r"$L_{SGD}(x)$",
                title="effective loss along the valley: lowest where flattest (x = π)")
    fig.suptitle(r"Finite-sum valley, SGD noise $\kappa = \sigma_y^2/\sigma_x^2 = 4$: "
                 r"$L_{SGD}$ grows with η and with smaller b ($\Delta = \frac{\eta}{2} c_b \sigma_y^2$)",
                 fontsize=10)
    save(fig, path)
