"""Convergence to the flat region: relaxation rate ∝ noise (FP spectral gap and ensembles).

Ensembles start at the sharpest point (x, y) = (0, 0); ``⟨cos x⟩_t`` is their mean (±1 s.e.
over replicas), the FP prediction evolves the density from the four grid cells around that
point (``FokkerPlanck.evolve``), and the ensemble rate is the log-slope fitted over
``0.5/rate < t < 2/rate`` with a bootstrap standard error over replicas. The relaxation
time is ∝ 1/Δ when ``rate/Δ`` is flat.
"""
import numpy as np

import landscape_sde as lsde
from figures._style import CYCLE, DASHES, MARKERS, SE, band, letter, log_ticks, plt, save
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import Valley

CONFIG = dict(deltas=[0.005, 0.01, 0.02, 0.04, 0.08, 0.16], kappa=4.0, shape=[64, 80], dt=0.02,
              n_replicas=4000, n_bootstrap=200, seed=2)
QUICK = {**CONFIG, "deltas": [0.04, 0.08], "shape": [32, 40], "n_replicas": 500, "n_bootstrap": 20}


def _rate(t, c, c_inf, mid):
    return -np.polyfit(t[mid], np.log(np.abs(c[mid] - c_inf)), 1)[0]


def compute(config):
    grid = Grid([-np.pi, -1.0], [np.pi, 1.0], config["shape"], boundary=("periodic", "reflecting"))
    out = {"runs": []}
    nx, ny = grid.shape
    p0 = np.zeros(grid.shape)
    p0[nx // 2 - 1:nx // 2 + 1, ny // 2 - 1:ny // 2 + 1] = 1.0
    p0 /= grid.integrate(p0.ravel())
    cos_cells = np.cos(grid.centers()[:, 0])
    gen = np.random.default_rng(0)
    for k, delta in enumerate(config["deltas"]):
        v = Valley(delta=delta, kappa=config["kappa"])
        scheme = lsde.AnisotropicLangevin(config["dt"])
        fp = FokkerPlanck.from_model(v, scheme, grid)
        rate = fp.relaxation_rate()
        n_steps = int(3.0 / rate / config["dt"])
        steps = np.linspace(0, n_steps, 31).astype(int)
        ens = lsde.simulate(v, scheme, [0.0, 0.0], n_steps=n_steps, n_replicas=config["n_replicas"],
                            save_at=steps, rng=config["seed"] + k)
        cos = np.cos(ens.theta[..., 0])  # (n_saved, n_replicas)
        c = cos.mean(axis=1)
        c_inf = grid.integrate(fp.stationary().ravel() * cos_cells)
        t = ens.t * config["dt"]
        dens = fp.evolve(p0, t)
        out[f"time_{k}"] = t
        out[f"cos_{k}"] = c
        out[f"cos_se_{k}"] = cos.std(axis=1, ddof=1) / np.sqrt(cos.shape[1])
        out[f"cos_fp_{k}"] = np.array([grid.integrate(d.ravel() * cos_cells) for d in dens])
        mid = (t > 0.5 / rate) & (t < 2.0 / rate)
        r = _rate(t, c, c_inf, mid)
        boot = [_rate(t, cos[:, idx].mean(axis=1), c_inf, mid)
                for idx in gen.integers(0, cos.shape[1], size=(config["n_bootstrap"], cos.shape[1]))]
        out["runs"].append({"delta": delta, "fp_rate": rate, "ensemble_rate": float(r),
                            "ensemble_rate_se": float(np.std(boot, ddof=1)), "cos_inf": c_inf})
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0))
    for k, run in enumerate(data["runs"]):
        t = np.asarray(data[f"time_{k}"]) * run["delta"]
        band(axes[0], t, np.abs(data[f"cos_{k}"] - run["cos_inf"]), data[f"cos_se_{k}"], color=CYCLE[k],
             lw=0, marker=MARKERS[k], ms=2.5, label=f"Δ = {run['delta']:g}")
        axes[0].plot(t, np.abs(data[f"cos_fp_{k}"] - run["cos_inf"]), color=CYCLE[k], lw=0.9, ls=DASHES[k])
    axes[0].plot([], [], "k-", lw=0.9, label="FP evolve")
    axes[0].set(yscale="log", xlabel=r"time × Δ", ylabel=r"$|\langle\cos x\rangle_t - \langle\cos x\rangle_\infty|$",
                title=f"collapse in tΔ ({SE})")
    log_ticks(axes[0], "y")
    axes[0].legend(fontsize=6.5, ncol=2)
    d = np.array([r["delta"] for r in data["runs"]])
    axes[1].plot(d, [r["fp_rate"] / r["delta"] for r in data["runs"]], "ks-", ms=4, lw=1,
                 label="FP spectral gap")
    axes[1].errorbar(d * 1.05, [r["ensemble_rate"] / r["delta"] for r in data["runs"]],
                     [r["ensemble_rate_se"] / r["delta"] for r in data["runs"]], fmt="o", color=CYCLE[1],
                     label=f"ensemble decay ({SE}, bootstrap)")
    axes[1].set(xscale="log", xlabel="noise Δ", ylabel="relaxation rate / Δ", title="rate ∝ Δ: flat line")
    log_ticks(axes[1], "x", d)
    lo = min(min(r["fp_rate"], r["ensemble_rate"]) / r["delta"] for r in data["runs"])
    hi = max(max(r["fp_rate"], r["ensemble_rate"]) / r["delta"] for r in data["runs"])
    axes[1].set_ylim(0, 1.4 * hi)
    axes[1].legend(fontsize=6.5, loc="lower center")
    letter(axes)
    save(fig, path)
