"""Decaying η or growing b at equal noise scale g: the same curves per epoch, fewer updates."""
import numpy as np

import landscape_sde as lsde
from analysis import noise_scale as ns
from figures._style import plt, save
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


STYLE = {"decay": ("η decay ÷2 per stage, b = 8", "C0"),
         "growth": ("b growth ≈ ×2 per stage, η fixed", "C3"),
         "constant": ("constant η, b (no decay)", "0.5")}


def plot(data, path):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name, (lab, col) in STYLE.items():
        ep, up = data[f"{name}_epochs"], data[f"{name}_updates"]
        for ax, key in ((axes[0], "train"), (axes[1], "test")):
            m, se = data[f"{name}_{key}"], data[f"{name}_{key}_se"]
            ax.plot(ep, m, "-", color=col, lw=1.5, label=f"{lab} ({data[f'{name}_n_updates']} updates)")
            ax.fill_between(ep, m - 2 * se, m + 2 * se, color=col, alpha=0.25, lw=0)
        axes[2].plot(up, data[f"{name}_train"], "-", color=col, lw=1.5, label=lab)
    def limits(key):  # the late-time region, where the schedules differ
        lo = min(np.min(data[f"{n}_{key}"]) for n in STYLE)
        return lo - 0.01 * abs(lo), lo + 4 * (np.max(data[f"constant_{key}"][-3:]) - lo) + 1e-3

    for ax, what, key in ((axes[0], "training", "train"), (axes[1], "test", "test")):
        ax.set(xlabel="epoch", ylabel=f"{what} loss (mean ± 2 SE)", title=f"{what} loss per epoch",
               ylim=limits(key))
    axes[0].legend(fontsize=7)
    axes[2].set(xlabel="updates", ylabel="training loss", title="training loss per update",
                ylim=limits("train"))
    g1 = ", ".join(f"{x:.2f}" for x in data["g_decay"])
    g2 = ", ".join(f"{x:.2f}" for x in data["g_growth"])
    bs = ", ".join(str(int(b)) for b in data["batch_sizes"])
    fig.suptitle(f"Teacher-student deep linear regression: noise scale g = η(N/b − 1) = {g1} (η decay) "
                 f"vs {g2} (b = {bs})", fontsize=10)
    save(fig, path)
