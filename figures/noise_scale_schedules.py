"""Decaying η or growing b at equal noise scale g: the same curves per epoch, fewer updates."""
import numpy as np

import landscape_sde as lsde
from analysis import noise_scale as ns
from figures._style import CYCLE, DASHES, SE, band, letter, plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(widths=[4, 4, 4, 4], n_samples=256, n_test=2048, noise=1.0, lr=0.04, batch_size=8,
              alpha=2, n_stages=4, epochs_per_stage=6, n_replicas=64)
QUICK = {**CONFIG, "n_stages": 3, "epochs_per_stage": 2, "n_replicas": 8, "n_test": 256}


def compute(config):
    net = DeepLinearNetwork.teacher_student(config["widths"], config["n_samples"], noise=config["noise"],
                                            n_test=config["n_test"], rng=0)
    th0 = net.init(rng=1)
    n, b0, lr0, a, e = (config["n_samples"], config["batch_size"], config["lr"], config["alpha"],
                        config["epochs_per_stage"])
    lrs = [lr0 / a**k for k in range(config["n_stages"])]
    bs = ns.batch_growth_schedule(lrs, b0, n)
    runs = {"decay": [(lsde.SGD(x, b0), e) for x in lrs],
            "growth": [(lsde.SGD(lr0, b), e) for b in bs],
            "constant": [(lsde.SGD(lr0, b0), e * len(lrs))]}
    out = {"lrs": np.array(lrs), "batch_sizes": np.array(bs),
           "g_decay": np.array([ns.noise_scale(x, b0, n) for x in lrs]),
           "g_growth": np.array([ns.noise_scale(lr0, b, n) for b in bs]),
           "noise_floor": 0.5 * config["noise"] ** 2 * config["widths"][-1]}
    for k, (name, stages) in enumerate(runs.items()):
        s = ns.run_schedule(net, stages, th0, n_replicas=config["n_replicas"], rng=k + 1)
        test = np.array([[net.test_loss(t) for t in row] for row in s.theta])
        out[f"{name}_epochs"], out[f"{name}_updates"] = s.epochs, s.updates.astype(float)
        for key, arr in (("train", s.loss), ("test", test)):
            out[f"{name}_{key}"] = arr.mean(axis=1)
            out[f"{name}_{key}_se"] = arr.std(axis=1, ddof=1) / np.sqrt(arr.shape[1])
        out[f"{name}_n_updates"] = s.n_updates
    return out


STYLE = {"decay": ("η decay ÷2 per stage, b = 8", CYCLE[0]),
         "growth": ("b growth ≈ ×2 per stage, η fixed", CYCLE[1]),
         "constant": ("constant η, b (no decay)", "0.45")}


def plot(data, path):
    """Means over replicas ±1 s.e.; the y-axes are zoomed on the late, converged region (the
    first epochs lie above the top), where the schedules differ."""
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9))
    for k, (name, (lab, col)) in enumerate(STYLE.items()):
        ep, up = data[f"{name}_epochs"], data[f"{name}_updates"]
        for ax, x, key in ((axes[0], ep, "train"), (axes[1], ep, "test"), (axes[2], up, "train")):
            band(ax, x, data[f"{name}_{key}"], data[f"{name}_{key}_se"], color=col, ls=DASHES[k], lw=1.2,
                 label=f"{lab} ({data[f'{name}_n_updates']} updates)")

    def limits(key):  # the late-time region, where the schedules differ
        lo = min(np.min(data[f"{n}_{key}"]) for n in STYLE)
        return lo - 0.01 * abs(lo), lo + 4 * (np.max(data[f"constant_{key}"][-3:]) - lo) + 1e-3

    axes[1].axhline(data["noise_floor"], color="k", ls=":", lw=1, label="noise floor (Bayes test loss)")
    for ax, what, key in ((axes[0], "training", "train"), (axes[1], "test", "test")):
        ax.set(xlabel="epoch", ylabel=f"{what} loss ({SE}, zoomed)", title=f"{what} loss per epoch",
               ylim=limits(key))
    axes[2].set(xlabel="updates", ylabel=f"training loss ({SE}, zoomed)", title="training loss per update",
                ylim=limits("train"))
    h, l = axes[1].get_legend_handles_labels()
    fig.legend(h, l, loc="outside lower center", ncol=2, fontsize=7)
    letter(axes)
    save(fig, path)
