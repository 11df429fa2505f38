"""The catapult phase (Lewkowycz et al., 2020): GD phases against η·λ₀ on the uv model (a
two-layer linear network on one sample) and on the 1→h→1 tanh network on Chebyshev data,
measured by a sweep, with the thresholds derived for the uv model (2 and 4)."""
import numpy as np

import landscape_sde as lsde
from analysis.catapult import PHASES, phase_sweep, thresholds, uv_model
from figures._style import plt, save
from models import TanhNetwork

CONFIG = dict(ratios=np.arange(0.5, 6.0001, 0.125).round(4).tolist(), uv_widths=[16, 64, 256, 1024],
              tanh_widths=[20, 100, 400], n_steps=1000, seed=0, example_width=256,
              example_ratios=[1.5, 3.0, 4.5])
QUICK = {**CONFIG, "ratios": [1.0, 1.9, 2.2, 3.0, 4.5, 5.5], "uv_widths": [16, 64],
         "tanh_widths": [20], "n_steps": 200, "example_width": 16}


def _uv(width, seed):
    return uv_model(width), np.random.default_rng(seed).normal(0.0, width**-0.25, size=2 * width)


def compute(config):
    ratios = np.asarray(config["ratios"])
    out = {"ratios": ratios, "thresholds": {}}
    for family, widths in (("uv", config["uv_widths"]), ("tanh", config["tanh_widths"])):
        phases, final = [], []
        for w in widths:
            if family == "uv":
                model, theta0 = _uv(w, config["seed"])
            else:
                model = TanhNetwork.chebyshev(width=w, degree=3, n_samples=20)
                theta0 = model.init(rng=config["seed"])
            res = phase_sweep(model, theta0, ratios, n_steps=config["n_steps"])
            phases.append(res["phase"])
            final.append(res["final_eta_sharpness"])
            out["thresholds"][f"{family}_{w}"] = thresholds(ratios, res["phase"])
        out[f"{family}_phase"], out[f"{family}_final"] = np.array(phases), np.array(final)
    model, theta0 = _uv(config["example_width"], config["seed"])
    lam0 = phase_sweep(model, theta0, [1.0], n_steps=1)["lam0"]
    for k, r in enumerate(config["example_ratios"]):
        ens = lsde.simulate(model, lsde.GD(r / lam0), theta0, n_steps=config["n_steps"],
                            divergence_bound=1e6)
        out[f"example_loss_{k}"] = ens.loss[:, 0] / ens.loss[0, 0]
    return out


def plot(data, path):
    c = data["config"]
    ratios = data["ratios"]
    step = ratios[1] - ratios[0] if ratios.size > 1 else 1.0
    cmap = plt.matplotlib.colors.ListedColormap(["#56B4E9", "#E69F00", "#555555"])
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), constrained_layout=True)
    for ax, family, label in ((axes[0], "uv", "uv model (width m)"),
                              (axes[1], "tanh", "tanh network (width h)")):
        widths = c[f"{family}_widths"]
        ax.pcolormesh(np.concatenate([ratios - step / 2, [ratios[-1] + step / 2]]),
                      np.arange(len(widths) + 1), data[f"{family}_phase"], cmap=cmap, vmin=-0.5,
                      vmax=2.5, shading="flat")
        ax.set_yticks(np.arange(len(widths)) + 0.5, [str(w) for w in widths])
        for x in ((2, 4) if family == "uv" else (2,)):
            ax.axvline(x, color="k", ls="--", lw=1.2)
        ax.set(xlabel="η·λ₀ (λ₀: top Gauss-Newton eigenvalue at init)", ylabel=label)
    axes[0].set_title("(a) uv: phases; dashed: derived 2 and 4")
    axes[1].set_title("(b) tanh, 20 Chebyshev points; dashed: 2")
    handles = [plt.matplotlib.patches.Patch(color=cmap(i), label=p) for i, p in enumerate(PHASES)]
    axes[1].legend(handles=handles, fontsize=7, loc="upper right", frameon=True)
    for k, r in enumerate(c["example_ratios"]):
        loss = data[f"example_loss_{k}"]
        axes[2].semilogy(np.arange(loss.size), loss, lw=1.2, label=f"η·λ₀ = {r:g}")
    axes[2].set(xlabel="step", ylabel="L / L₀", ylim=(1e-12, 1e6), xlim=(0, 80),
                title=f"(c) uv, m = {c['example_width']}: loss (divergence stops the run)")
    axes[2].legend(fontsize=7)
    for family, color in (("uv", "#0072B2"), ("tanh", "#D55E00")):
        w = c[f"{family}_widths"][-1]
        axes[3].plot(ratios, data[f"{family}_final"][-1], "o", ms=3, color=color,
                     label=f"{family}, width {w}")
    axes[3].plot(ratios, ratios, ":", color="gray", lw=1, label="η·λ₀ (no change)")
    axes[3].axhline(2, color="k", ls="--", lw=1)
    axes[3].set(xlabel="η·λ₀", ylabel="η · sharpness at the end", ylim=(0, 4.5),
                title=f"(d) end of the run ({c['n_steps']} steps); none if divergent")
    axes[3].legend(fontsize=7)
    fig.suptitle("GD with a large learning rate: monotone (η·λ₀ < 2), catapult (loss rises, "
                 "curvature drops below 2/η, then converges), divergent", fontsize=9)
    save(fig, path)
