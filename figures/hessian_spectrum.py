"""Hessian spectral density along training, GD against SGD, on a deep linear network with a
low-rank teacher: stochastic Lanczos quadrature for the bulk (±1 standard error over probes),
the top eigenvalues computed exactly and deflated (the outliers), and Hutchinson's trace."""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import hessian_trace, spectral_density
from figures._style import plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(widths=[16, 32, 32, 4], teacher_widths=[16, 2, 4], n_samples=128, noise=0.3,
              init_scale=0.5, data_seed=0, init_seed=0, lr=0.1, batch_size=8, n_steps=3000,
              snapshots=[0, 100, 3000], n_track=13, n_probes=10, n_lanczos=60, n_outliers=6,
              n_trace_probes=100, width=0.03, seed=0)
QUICK = {**CONFIG, "widths": [8, 12, 4], "teacher_widths": [8, 2, 4], "n_samples": 32,
         "n_steps": 200, "snapshots": [0, 20, 200], "n_track": 5, "n_probes": 3, "n_lanczos": 20,
         "n_outliers": 3, "n_trace_probes": 10}


def compute(config):
    model = DeepLinearNetwork.teacher_student(config["widths"], config["n_samples"],
                                              noise=config["noise"], rng=config["data_seed"],
                                              teacher_widths=config["teacher_widths"])
    theta0 = model.init(rng=config["init_seed"], scale=config["init_scale"])
    lr, n = config["lr"], config["n_steps"]
    track = np.unique(np.concatenate([[0], np.geomspace(10, n, config["n_track"] - 1).astype(int)]))
    steps = np.unique(np.concatenate([track, config["snapshots"]]))
    out = {"dim": model.dim, "track_steps": track, "runs": []}
    for name, scheme in (("GD", lsde.GD(lr)), ("SGD", lsde.SGD(lr, config["batch_size"]))):
        ens = lsde.simulate(model, scheme, theta0, n_steps=n, save_at=steps, rng=config["seed"])
        at = {int(t): ens.theta[i, 0] for i, t in enumerate(ens.t)}
        grids, outl = [], []
        for k, t in enumerate(config["snapshots"]):
            sd = spectral_density(model, at[t], n_probes=config["n_probes"],
                                  n_lanczos=config["n_lanczos"], n_outliers=config["n_outliers"],
                                  rng=config["seed"] + k)
            top = max(sd.outliers.max(initial=0), sd.nodes.max())
            grid = np.linspace(-0.1 * top, 1.1 * top, 600)
            mean, se = sd.density(grid, config["width"] * top, outliers=False)
            out[f"{name}_grid_{k}"], out[f"{name}_density_{k}"], out[f"{name}_se_{k}"] = grid, mean, se
            out[f"{name}_outliers_{k}"] = sd.outliers
            grids.append(grid)
        tops, traces, ses = [], [], []
        for k, t in enumerate(track):
            sd = spectral_density(model, at[int(t)], n_probes=2, n_lanczos=2,
                                  n_outliers=config["n_outliers"], rng=0)
            tops.append(sd.outliers)
            est = hessian_trace(model, at[int(t)], n_probes=config["n_trace_probes"],
                                rng=config["seed"] + 100 + k)
            traces.append(est.value)
            ses.append(est.se)
        out[f"{name}_top"] = np.array(tops)
        out[f"{name}_trace"], out[f"{name}_trace_se"] = np.array(traces), np.array(ses)
        out[f"{name}_loss"] = ens.loss[:, 0]
        out[f"{name}_t"] = ens.t
        out["runs"].append({"name": name, "final_loss": float(ens.loss[-1, 0]),
                            "final_top": [float(x) for x in tops[-1]],
                            "final_trace": [float(traces[-1]), float(ses[-1])]})
    return out


def plot(data, path):
    c = data["config"]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), constrained_layout=True)
    colors = ["#999999", "#E69F00", "#0072B2"]
    for ax, name in zip(axes[:2], ("GD", "SGD")):
        for k, t in enumerate(c["snapshots"]):
            g, m, s = (data[f"{name}_{q}_{k}"] for q in ("grid", "density", "se"))
            ax.semilogy(g, np.maximum(m, 1e-6), color=colors[k], lw=1.2, label=f"step {t}")
            ax.fill_between(g, np.maximum(m - s, 1e-6), m + s, color=colors[k], alpha=0.3, lw=0)
            out = data[f"{name}_outliers_{k}"]
            ax.plot(out, np.full(out.size, 3e-6 * 3 ** k), "v", color=colors[k], ms=5)
        ax.set(xlabel="eigenvalue λ", ylabel="bulk density (smoothed)", ylim=(1e-6, 30),
               title=f"({'a' if name == 'GD' else 'b'}) {name}: bulk ±1 SE, ▼ top {c['n_outliers']}")
        ax.legend(fontsize=7, loc="upper right")
    for name, ls in (("GD", "-"), ("SGD", "--")):
        t = data["track_steps"]
        for j in range(data[f"{name}_top"].shape[1]):
            axes[2].plot(np.maximum(t, 1), data[f"{name}_top"][:, j], ls, color="#0072B2" if name == "GD" else "#D55E00",
                         lw=1, label=name if j == 0 else None)
        axes[3].errorbar(np.maximum(t, 1), data[f"{name}_trace"], yerr=data[f"{name}_trace_se"],
                         fmt="o" + ls, ms=3, capsize=2, lw=1,
                         color="#0072B2" if name == "GD" else "#D55E00", label=name)
    axes[2].set(xscale="log", xlabel="step (0 plotted at 1)", ylabel="eigenvalue",
                title=f"(c) top {c['n_outliers']} eigenvalues (exact)")
    axes[3].set(xscale="log", xlabel="step (0 plotted at 1)", ylabel="tr ∇²L",
                title=f"(d) Hutchinson trace ±1 SE ({c['n_trace_probes']} probes)")
    for ax in axes[2:]:
        ax.legend(fontsize=7)
    fig.suptitle(f"Deep linear network {c['widths']} ({data['dim']} parameters), rank-2 teacher, "
                 f"η = {c['lr']}, SGD batch {c['batch_size']}; SLQ {c['n_probes']} probes × "
                 f"{c['n_lanczos']} steps, Gaussian smoothing {c['width']}·λ_top", fontsize=9)
    save(fig, path)
