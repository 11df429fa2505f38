"""SGD on a 10-layer deep linear network: MiniBS ``E_B[λ_max(H_B)]`` hovers just above 2/η
while the full sharpness S stays below it, lower for smaller batches (the edge of stochastic
stability, Andreyev & Beneventano, 2024, v1). In this toy the later versions' batch sharpness
``E_B[g_Bᵀ H_B g_B/‖g_B‖²]`` stays well below 2/η.

Every quantity is shown × η/2 (the edge is 1), as the mean over ``n_replicas`` independent SGD
runs from one initialisation, ±1 s.e. over the runs. The late value of a run is its mean over
the last ``late_fraction`` of the observations. At ``b = N`` SGD is GD: every batch is the full
batch, so MiniBS equals S (the two curves coincide) and the batch sharpness is the Rayleigh
quotient ``∇Lᵀ H ∇L/‖∇L‖²`` of the full gradient, near 0 here.
"""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import tracker
from figures._style import CYCLE, DASHES, MARKERS, SE, band, letter, log_ticks, mean_se, plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(depth=10, width=20, data_seed=0, init_seed=0, lr=1e-3, batch_sizes=[2, 4, 10, 20],
              n_steps=3000, observe_every=150, n_replicas=8, n_batches=20, late_fraction=1 / 3, seed=1)
QUICK = {**CONFIG, "depth": 3, "width": 6, "batch_sizes": [2, 6], "n_steps": 60,
         "observe_every": 20, "n_batches": 4, "n_replicas": 3}
QUANTITIES = ("sharpness", "minibs", "batch_sharpness")
LABELS = {"sharpness": "S = λ_max(H)", "minibs": "MiniBS E[λ_max(H_B)]", "batch_sharpness": "batch sharpness"}


def compute(config):
    model = DeepLinearNetwork.edge_of_stability(config["depth"], config["width"], rng=config["data_seed"])
    theta0 = model.init(rng=config["init_seed"])
    half = config["lr"] / 2
    out = {"runs": [], "batch_sizes": np.array(config["batch_sizes"])}
    late = {q: ([], []) for q in QUANTITIES}
    for k, b in enumerate(config["batch_sizes"]):
        track = tracker(model, QUANTITIES, batch_size=b, n_batches=config["n_batches"], rng=k)
        ens = lsde.simulate(model, lsde.SGD(config["lr"], b), theta0, n_steps=config["n_steps"],
                            n_replicas=config["n_replicas"], save_every=config["observe_every"],
                            rng=config["seed"], observe={"c": (config["observe_every"], track)})
        v = ens.observables["c"]["values"] * half  # (n_obs, n_replicas, 3), × η/2
        out[f"t_{k}"] = ens.observables["c"]["t"]
        out[f"mean_{k}"], out[f"se_{k}"], _ = mean_se(v, axis=1)
        n_late = max(1, int(round(config["late_fraction"] * v.shape[0])))
        per_run = np.nanmean(v[-n_late:], axis=0)  # (n_replicas, 3)
        m, se, _ = mean_se(per_run, axis=0)
        for j, q in enumerate(QUANTITIES):
            late[q][0].append(m[j])
            late[q][1].append(se[j])
        out[f"loss_t_{k}"] = ens.t
        out[f"loss_{k}"], out[f"loss_se_{k}"], _ = mean_se(ens.loss, axis=1)
        out["runs"].append({"batch_size": b, "n_diverged": int(ens.diverged.sum()),
                            "late": {q: [float(m[j]), float(se[j])] for j, q in enumerate(QUANTITIES)}})
    for q in QUANTITIES:
        out[f"late_{q}"], out[f"late_{q}_se"] = np.array(late[q][0]), np.array(late[q][1])
    return out


def plot(data, path):
    c = data["config"]
    runs = data["runs"]
    n = len(runs)
    fig = plt.figure(figsize=(7.2, 4.8))
    top, bottom = fig.subfigures(2, 1)
    axes = list(top.subplots(1, n))
    for k, ax in enumerate(axes):
        for j, q in enumerate(QUANTITIES):
            band(ax, data[f"t_{k}"], data[f"mean_{k}"][:, j], data[f"se_{k}"][:, j], color=CYCLE[j],
                 ls=DASHES[j], lw=1.1, label=LABELS[q])
        ax.axhline(1.0, color="k", ls=":", lw=1)
        ax.set(title=f"b = {runs[k]['batch_size']}", xlabel="step", ylim=(0, 1.8))
        if k:
            ax.tick_params(labelleft=False)
    axes[0].set_ylabel(r"quantity $\times\,\eta/2$")
    late_ax, loss_ax = bottom.subplots(1, 2)
    ax = late_ax
    b = np.asarray(data["batch_sizes"])
    for j, q in enumerate(QUANTITIES):
        ax.errorbar(b, data[f"late_{q}"], data[f"late_{q}_se"], fmt=MARKERS[j] + "-", lw=1,
                    color=CYCLE[j], label=LABELS[q])
    ax.axhline(1.0, color="k", ls=":", lw=1, label="edge 2/η")
    ax.set(xscale="log", xlabel="batch size b", ylabel=r"late value $\times\,\eta/2$",
           title=f"late values ({SE}, {c['n_replicas']} runs)")
    log_ticks(ax, "x", b)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=4)
    ax = loss_ax
    for k, run in enumerate(runs):
        band(ax, data[f"loss_t_{k}"], data[f"loss_{k}"], data[f"loss_se_{k}"], color=CYCLE[k],
             ls=DASHES[k], lw=1, label=f"b = {run['batch_size']}")
    ax.set(yscale="log", xlabel="step", ylabel="training loss", title="loss")
    log_ticks(ax, "y")
    ax.legend(fontsize=7)
    letter(axes + [late_ax, ax])
    save(fig, path)
