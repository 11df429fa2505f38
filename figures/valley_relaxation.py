"""Convergence to the flat region: relaxation rate ∝ noise (FP spectral gap and ensembles)."""
import numpy as np

import landscape_sde as lsde
from figures._style import plt, save
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import Valley

CONFIG = dict(deltas=[0.01, 0.02, 0.04, 0.08], kappa=4.0, shape=[64, 80], dt=0.02,
              n_replicas=4000, seed=2)
QUICK = {**CONFIG, "deltas": [0.04, 0.08], "shape": [32, 40], "n_replicas": 500}


def compute(config):
    grid = Grid([-np.pi, -1.0], [np.pi, 1.0], config["shape"], boundary=("periodic", "reflecting"))
    out = {"runs": []}
    for k, delta in enumerate(config["deltas"]):
        v = Valley(delta=delta, kappa=config["kappa"])
        scheme = lsde.AnisotropicLangevin(config["dt"])
        fp = FokkerPlanck.from_model(v, scheme, grid)
        rate = fp.relaxation_rate()
        t_end = 3.0 / rate
        n_steps = int(t_end / config["dt"])
        times = np.linspace(0, n_steps, 31).astype(int)
        ens = lsde.simulate(v, scheme, [0.0, 0.0], n_steps=n_steps, n_replicas=config["n_replicas"],
                            save_at=times, rng=config["seed"] + k)
        c = np.cos(ens.theta[..., 0]).mean(axis=1)
        p_inf = fp.stationary()
        c_inf = grid.integrate(p_inf.ravel() * np.cos(grid.centers()[:, 0]))
        out[f"time_{k}"] = ens.t * config["dt"]
        out[f"cos_{k}"] = c
        # ensemble rate: slope of log(⟨cos x⟩ − ⟨cos x⟩_∞) over the middle of the decay
        mid = (ens.t * config["dt"] > 0.5 / rate) & (ens.t * config["dt"] < 2.0 / rate)
        slope = np.polyfit(ens.t[mid] * config["dt"], np.log(np.abs(c[mid] - c_inf)), 1)[0]
        out["runs"].append({"delta": delta, "fp_rate": rate, "ensemble_rate": -slope, "cos_inf": c_inf})
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for k, run in enumerate(data["runs"]):
        t = np.asarray(data[f"time_{k}"])
        axes[0].semilogy(t * run["delta"], np.abs(data[f"cos_{k}"] - run["cos_inf"]), "o-", ms=3,
                         label=f"Δ = {run['delta']:g}")
    axes[0].set(xlabel=r"time × Δ", ylabel=r"$|\langle\cos x\rangle_t - \langle\cos x\rangle_\infty|$",
                title="ensembles from the sharpest point: curves collapse in tΔ")
    axes[0].legend(fontsize=7)
    d = np.array([r["delta"] for r in data["runs"]])
    axes[1].loglog(d, [1 / r["fp_rate"] for r in data["runs"]], "ks-", label="1 / FP spectral gap")
    axes[1].loglog(d, [1 / r["ensemble_rate"] for r in data["runs"]], "o", color="tab:red",
                   label="ensemble decay time")
    axes[1].loglog(d, (1 / data["runs"][0]["fp_rate"]) * d[0] / d, "k:", lw=1, label=r"$\propto 1/\Delta$")
    axes[1].set(xlabel="noise Δ", ylabel="relaxation time", title="convergence time falls as 1/Δ")
    axes[1].legend(fontsize=7)
    fig.suptitle(r"Valley, $\kappa$ = 4: relaxation towards the flat region", fontsize=10)
    save(fig, path)
