"""Full-batch Adam and RMSProp at the adaptive edge of stability (Cohen et al., 2022): the
preconditioned sharpness λ_max(P⁻¹H) rises to the frozen-preconditioner threshold
(2 + 2β₁)/((1 − β₁)η), 38/η for Adam with β₁ = 0.9 and 2/η for RMSProp, and hovers there (on
the tanh network while the loss keeps falling; on the deep linear network at its loss floor,
where the second moments decay and the preconditioned curvature grows until it reaches the
edge); the raw sharpness λ_max(H) stays below 5% of 2/η."""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import tracker
from analysis.derivations import adam_frozen_threshold_value
from figures._style import plt, save
from models.deep_linear import DeepLinearNetwork
from models.tanh_network import TanhNetwork

CONFIG = dict(beta2=0.99, n_steps=6000, observe_every=100,
              runs=[("tanh", "Adam", 1e-3), ("tanh", "Adam", 2e-3),
                    ("deep_linear", "Adam", 1e-3), ("deep_linear", "Adam", 3e-3),
                    ("tanh", "RMSProp", 2e-4), ("tanh", "RMSProp", 5e-4)],
              tanh=dict(width=100, degree=3, n_samples=20, init_seed=0),
              deep_linear=dict(widths=[10, 20, 20, 5], n_samples=100, noise=0.1, seed=0, scale=0.15),
              settle=2000)
QUICK = {**CONFIG, "n_steps": 600, "observe_every": 100, "settle": 200,
         "runs": [("deep_linear", "Adam", 3e-3), ("tanh", "RMSProp", 5e-4)],
         "tanh": {**CONFIG["tanh"], "width": 20}}
TITLES = {("tanh", "Adam"): "Adam, tanh network", ("deep_linear", "Adam"): "Adam, deep linear network",
          ("tanh", "RMSProp"): "RMSProp, tanh network"}


def _model(name, c):
    if name == "tanh":
        t = c["tanh"]
        model = TanhNetwork.chebyshev(t["width"], t["degree"], t["n_samples"])
        return model, model.init(rng=t["init_seed"])
    d = c["deep_linear"]
    model = DeepLinearNetwork.teacher_student(d["widths"], d["n_samples"], noise=d["noise"], rng=d["seed"])
    return model, d["scale"] * np.random.default_rng(d["seed"]).standard_normal(model.dim)


def threshold(scheme, lr):
    return adam_frozen_threshold_value(lr, 0.9 if scheme == "Adam" else 0.0)


def compute(config):
    out = {"runs": []}
    for k, (name, scheme, lr) in enumerate(config["runs"]):
        model, theta0 = _model(name, config)
        s = lsde.Adam(lr, beta2=config["beta2"]) if scheme == "Adam" else lsde.RMSProp(lr, beta2=config["beta2"])
        every = config["observe_every"]
        obs = {"S": (every, tracker(model, ["preconditioned_sharpness", "sharpness"]), "preconditioner")}
        ens = lsde.simulate(model, s, theta0, n_steps=config["n_steps"], save_every=every, observe=obs)
        t, v = ens.observables["S"]["t"], ens.observables["S"]["values"][:, 0]
        late = t >= config["settle"]
        edge = threshold(scheme, lr)
        out[f"t_{k}"], out[f"loss_{k}"] = ens.t, ens.loss[:, 0]
        out[f"obs_t_{k}"], out[f"pre_{k}"], out[f"raw_{k}"] = t, v[:, 0], v[:, 1]
        out["runs"].append({"model": name, "scheme": scheme, "lr": lr, "dim": model.dim,
                            "threshold": edge,
                            "late_mean_ratio": float(np.mean(v[late, 0]) / edge),
                            "late_max_ratio": float(np.max(v[late, 0]) / edge),
                            "late_raw_over_2_lr": float(np.max(v[late, 1]) * lr / 2)})
    return out


def plot(data, path):
    groups = list(dict.fromkeys((r["model"], r["scheme"]) for r in data["runs"]))
    fig, axes = plt.subplots(len(groups), 3, figsize=(12, 3.0 * len(groups)), squeeze=False,
                             layout="constrained")
    colors = ["#1f77b4", "#d62728"]
    for g, key in enumerate(groups):
        ax_p, ax_r, ax_l = axes[g]
        runs = [(k, r) for k, r in enumerate(data["runs"]) if (r["model"], r["scheme"]) == key]
        for (k, r), color in zip(runs, colors):
            t, lab = data[f"obs_t_{k}"], f"η = {r['lr']:g}"
            keep = t > 0  # at t = 0 the moments are zero and P = ε
            ax_p.semilogy(t[keep], data[f"pre_{k}"][keep], color=color, label=lab)
            ax_p.axhline(r["threshold"], color=color, ls=":", lw=1)
            ax_r.plot(t, data[f"raw_{k}"], color=color, label=f"{lab} (2/η = {2 / r['lr']:.0f})")
            ax_l.semilogy(data[f"t_{k}"], data[f"loss_{k}"], color=color, label=lab)
        edge = "38/η" if key[1] == "Adam" else "2/η"
        ax_p.set_title(f"{TITLES[key]}: λ_max(P⁻¹H); dotted {edge}", fontsize=9)
        ax_r.set_title("raw sharpness λ_max(H)", fontsize=9)
        ax_l.set_title("training loss", fontsize=9)
        ax_p.legend(fontsize=8)
        ax_r.legend(fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    c = data["config"]
    fig.suptitle(f"Full-batch adaptive methods at the edge of stability (β₂ = {c['beta2']}, "
                 "β₁ = 0.9 for Adam, one run each, preconditioner observed every "
                 f"{c['observe_every']} steps)", fontsize=10)
    save(fig, path)
