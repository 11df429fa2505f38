"""SGD on a 10-layer deep linear network: MiniBS ``E_B[λ_max(H_B)]`` hovers just above 2/η
while the full sharpness S stays below it, lower for smaller batches (the edge of stochastic
stability, Andreyev & Beneventano, 2024, v1). In this toy the later versions' batch sharpness
``E_B[g_Bᵀ H_B g_B/‖g_B‖²]`` stays well below 2/η."""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import tracker
from figures._style import plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(depth=10, width=20, data_seed=0, init_seed=0, lr=1e-3, batch_sizes=[2, 4, 10, 20],
              n_steps=3000, observe_every=100, n_replicas=2, n_batches=20, seed=1)
QUICK = {**CONFIG, "depth": 3, "width": 6, "batch_sizes": [2, 6], "n_steps": 60,
         "observe_every": 20, "n_batches": 4}
QUANTITIES = ("sharpness", "minibs", "batch_sharpness")


def compute(config):
    model = DeepLinearNetwork.edge_of_stability(config["depth"], config["width"], rng=config["data_seed"])
    theta0 = model.init(rng=config["init_seed"])
    out = {"runs": []}
    for k, b in enumerate(config["batch_sizes"]):
        track = tracker(model, QUANTITIES, batch_size=b, n_batches=config["n_batches"], rng=k)
        ens = lsde.simulate(model, lsde.SGD(config["lr"], b), theta0, n_steps=config["n_steps"],
                            n_replicas=config["n_replicas"], save_every=config["observe_every"],
                            rng=config["seed"], observe={"c": (config["observe_every"], track)})
        out[f"t_{k}"] = ens.observables["c"]["t"]
        out[f"values_{k}"] = ens.observables["c"]["values"]  # (n_obs, n_replicas, 3)
        out[f"loss_{k}"] = ens.loss
        out["runs"].append({"batch_size": b, "n_diverged": int(ens.diverged.sum())})
    return out


def plot(data, path):
    c = data["config"]
    runs = data["runs"]
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(3.2 * (len(runs) + 1), 3.4), sharey=False)
    half = c["lr"] / 2
    labels = {"sharpness": "S = λ_max(H)", "minibs": "MiniBS E[λ_max(H_B)]",
              "batch_sharpness": "batch sharpness"}
    styles = {"sharpness": dict(color="black", lw=1.6), "minibs": dict(color="#d62728", lw=1.1),
              "batch_sharpness": dict(color="#1f77b4", lw=1.1)}
    for k, (ax, run) in enumerate(zip(axes, runs)):
        v = np.nanmean(data[f"values_{k}"], axis=1) * half
        for j, q in enumerate(QUANTITIES):
            ax.plot(data[f"t_{k}"], v[:, j], label=labels[q], **styles[q])
        ax.axhline(1.0, color="gray", ls=":", lw=1.2)
        ax.set(title=f"b = {run['batch_size']}", xlabel="step", ylim=(0, 2.6))
        axes[-1].semilogy(np.arange(data[f"loss_{k}"].shape[0]) * c["observe_every"],
                          np.nanmean(data[f"loss_{k}"], axis=1), label=f"b = {run['batch_size']}")
    axes[0].set_ylabel("quantity × η/2  (dotted: 2/η)")
    axes[0].legend(fontsize=7, loc="upper right")
    axes[-1].set(title="training loss", xlabel="step")
    axes[-1].legend(fontsize=7)
    fig.suptitle(f"SGD, η = {c['lr']:g}, deep linear network {c['depth']}×{c['width']}×{c['width']} "
                 f"(N = {c['width']}), mean of {c['n_replicas']} runs: MiniBS hovers just above 2/η, "
                 "S stays below it (lower for smaller b), the batch sharpness lower still", fontsize=9)
    save(fig, path)
