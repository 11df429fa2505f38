"""SGD on the digits (64→32→10 tanh network, MSE, 500 images): MiniBS ``E_B[λ_max(H_B)]``
hovers at 2/η while the full sharpness S stays below it, lower for smaller batches (the edge
of stochastic stability, Andreyev & Beneventano, 2024); the batch sharpness
``E_B[g_Bᵀ H_B g_B/‖g_B‖²]`` is reported beside them."""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import tracker
from figures._digits import digits_model, one_blas_thread
from figures._style import plt, save

CONFIG = dict(n_train=500, width=32, activation="tanh", loss="mse", init_seed=0, lr=0.3,
              batch_sizes=[16, 32, 64], n_steps=4000, observe_every=200, n_replicas=3,
              n_batches=10, seed=1)
QUICK = {**CONFIG, "n_train": 200, "width": 8, "batch_sizes": [16], "n_steps": 100,
         "observe_every": 50, "n_replicas": 2, "n_batches": 3}
QUANTITIES = ("sharpness", "minibs", "batch_sharpness")


def compute(config):
    out = {"runs": []}
    with one_blas_thread():
        model = digits_model(config)
        theta0 = model.init(rng=config["init_seed"])
        for k, b in enumerate(config["batch_sizes"]):
            track = tracker(model, QUANTITIES, batch_size=b, n_batches=config["n_batches"], rng=k)
            ens = lsde.simulate(model, lsde.SGD(config["lr"], b), theta0, n_steps=config["n_steps"],
                                n_replicas=config["n_replicas"], save_every=config["observe_every"],
                                rng=config["seed"], observe={"c": (config["observe_every"], track)})
            v = ens.observables["c"]["values"] * config["lr"] / 2  # (n_obs, n_replicas, 3)
            out[f"t_{k}"] = ens.observables["c"]["t"]
            out[f"values_{k}"] = v
            out[f"loss_{k}"] = ens.loss
            late = v[len(v) // 2:].mean(axis=0)  # per replica, second half of the run
            out["runs"].append({
                "batch_size": b, "n_diverged": int(ens.diverged.sum()),
                "test_accuracy": float(np.mean([model.test_accuracy(t) for t in ens.theta[-1]])),
                **{f"late_{q}_x_lr_over_2": [float(late[:, j].mean()),
                                             float(late[:, j].std(ddof=1) / np.sqrt(len(late)))]
                   for j, q in enumerate(QUANTITIES)}})
    return out


def plot(data, path):
    c = data["config"]
    runs = data["runs"]
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(3.3 * (len(runs) + 1), 3.5))
    labels = {"sharpness": "S = λ_max(H)", "minibs": "MiniBS E[λ_max(H_B)]",
              "batch_sharpness": "batch sharpness"}
    colors = {"sharpness": "black", "minibs": "#d62728", "batch_sharpness": "#1f77b4"}
    for k, (ax, run) in enumerate(zip(axes, runs)):
        v, t = data[f"values_{k}"], data[f"t_{k}"]
        mean = v.mean(axis=1)
        se = v.std(axis=1, ddof=1) / np.sqrt(v.shape[1])
        for j, q in enumerate(("sharpness", "minibs", "batch_sharpness")):
            ax.plot(t, mean[:, j], color=colors[q], lw=1.3, label=labels[q])
            ax.fill_between(t, mean[:, j] - se[:, j], mean[:, j] + se[:, j], color=colors[q], alpha=0.25, lw=0)
        ax.axhline(1.0, color="gray", ls=":", lw=1.2)
        ax.set(title=f"b = {run['batch_size']}", xlabel="SGD step", ylim=(0, 1.6))
        loss = data[f"loss_{k}"]
        axes[-1].semilogy(np.arange(loss.shape[0]) * c["observe_every"], loss.mean(axis=1),
                          label=f"b = {run['batch_size']}: test acc. {run['test_accuracy']:.3f}")
    axes[0].set_ylabel("quantity × η/2  (dotted: 2/η)")
    axes[0].legend(fontsize=7, loc="lower right")
    axes[-1].set(title="training loss (mean)", xlabel="SGD step")
    axes[-1].legend(fontsize=7)
    fig.suptitle(f"SGD, η = {c['lr']:g}, digits (N = {c['n_train']}), 64→{c['width']}→10 tanh, MSE; "
                 f"mean ± 1 s.e. over {c['n_replicas']} runs, {c['n_batches']} batches per point: "
                 "MiniBS hovers at 2/η, S stays below it, lower for smaller b", fontsize=9)
    fig.tight_layout()
    save(fig, path)
