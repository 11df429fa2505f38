"""Test loss, generalisation gap and sharpness (ηλ_max/2, Keskar's φ) against the batch size: at
fixed η and equal epochs, at fixed η and equal updates (Hoffer et al., 2017), and at fixed g.

At fixed η and equal epochs a batch of b makes ``n_epochs·N/b`` updates, so the largest batches
are under-trained; the equal-updates series gives every b the updates of the smallest batch
(``n_epochs·N/b_min``), which separates "fewer updates" from "larger batch". The gap is test
minus training loss per replica. Every point is a mean over ``n_replicas`` replicas, ±1 s.e.;
``noise_floor`` is the Bayes test loss ``noise²·d_out/2``.
"""
import numpy as np

from analysis.large_batch import batch_size_sweep
from figures._style import CYCLE, DASHES, MARKERS, SE, letter, log_ticks, mean_se, plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(widths=[6, 6, 6, 6], n_samples=128, n_test=2048, noise=1.0, n_epochs=30,
              lr=0.02, batch_sizes=[2, 4, 8, 16, 32, 64, 128], g=0.3, g_batch_sizes=[2, 4, 8, 16, 32],
              n_replicas=16, epsilon=1e-3)
QUICK = {**CONFIG, "n_epochs": 2, "batch_sizes": [4, 32, 128], "g_batch_sizes": [4, 16],
         "n_replicas": 2, "n_test": 256}
SERIES = {"lr": "fixed η, equal epochs", "updates": "fixed η, equal updates", "g": "fixed g, equal epochs"}


def _store(out, name, sweeps):
    for key in ("batch_sizes", "lrs", "noise_scales", "n_updates"):
        out[f"{name}_{key}"] = np.concatenate([getattr(s, key) for s in sweeps])
    for key in ("train_loss", "test_loss", "sharpness", "keskar"):
        a = np.concatenate([getattr(s, key) for s in sweeps])
        if key == "sharpness":
            a = a * out[f"{name}_lrs"][:, None] / 2  # ηλ_max/2: the edge is 1
        out[f"{name}_{key}"], out[f"{name}_{key}_se"], _ = mean_se(a, axis=1)
    gap = np.concatenate([s.test_loss - s.train_loss for s in sweeps])
    out[f"{name}_gap"], out[f"{name}_gap_se"], _ = mean_se(gap, axis=1)


def compute(config):
    net = DeepLinearNetwork.teacher_student(config["widths"], config["n_samples"], noise=config["noise"],
                                            n_test=config["n_test"], rng=0)
    th0 = net.init(rng=1)
    kw = dict(n_replicas=config["n_replicas"], epsilon=config["epsilon"])
    out = {"noise_floor": config["noise"] ** 2 * config["widths"][-1] / 2}
    _store(out, "lr", [batch_size_sweep(net, th0, config["batch_sizes"], n_epochs=config["n_epochs"],
                                        lr=config["lr"], rng=0, **kw)])
    n = config["n_samples"]
    updates = config["n_epochs"] * n // min(config["batch_sizes"])
    _store(out, "updates", [batch_size_sweep(net, th0, [b], n_epochs=max(1, updates * b // n), lr=config["lr"],
                                             rng=np.random.SeedSequence([1, b]), **kw)
                            for b in config["batch_sizes"]])
    _store(out, "g", [batch_size_sweep(net, th0, config["g_batch_sizes"], n_epochs=config["n_epochs"],
                                       noise_scale_g=config["g"], rng=0, **kw)])
    return out


def plot(data, path):
    cfg = data["config"]
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.0), sharex=True)
    axes = axes.ravel()
    for k, (name, lab) in enumerate(SERIES.items()):
        b = data[f"{name}_batch_sizes"]
        kw = dict(color=CYCLE[k], ms=3.5, lw=1.1)
        axes[0].errorbar(b, data[f"{name}_test_loss"], data[f"{name}_test_loss_se"], fmt=MARKERS[k] + "-",
                         label=lab, **kw)
        axes[0].errorbar(b, data[f"{name}_train_loss"], data[f"{name}_train_loss_se"], fmt=MARKERS[k] + "--",
                         mfc="white", **kw)
        axes[1].errorbar(b, data[f"{name}_gap"], data[f"{name}_gap_se"], fmt=MARKERS[k] + "-", label=lab, **kw)
        axes[2].errorbar(b, data[f"{name}_sharpness"], data[f"{name}_sharpness_se"], fmt=MARKERS[k] + "-",
                         label=lab, **kw)
        axes[3].errorbar(b, data[f"{name}_keskar"], data[f"{name}_keskar_se"], fmt=MARKERS[k] + "-",
                         label=lab, **kw)
    axes[0].axhline(data["noise_floor"], color="k", ls=":", lw=1)
    axes[0].plot([], [], "ko-", ms=3.5, lw=1, label="test")
    axes[0].plot([], [], "ko--", mfc="white", ms=3.5, lw=1, label="train")
    axes[0].plot([], [], "k:", lw=1, label="noise floor")
    top = max(np.nanmax(data["lr_test_loss"][:-1]), 3.4) + 0.15
    axes[0].set(ylabel=f"final loss ({SE})", title="test and training loss",
                ylim=(data["noise_floor"] - 0.1, top))
    b = np.asarray(data["lr_batch_sizes"])
    for key, y0 in (("test_loss", 0.97), ("train_loss", 0.9)):  # points above the axis, not hidden
        v = np.asarray(data[f"lr_{key}"])
        for i in np.nonzero(v > top)[0]:
            axes[0].annotate(f"{key.split('_')[0]} {v[i]:.2f} ({int(data['lr_n_updates'][i])} updates) ↑",
                             (b[i], top), xytext=(b[i], data["noise_floor"] + y0 * (top - data["noise_floor"])),
                             ha="right", va="top", fontsize=6.5, color=CYCLE[0])
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=7)
    axes[1].set(ylabel=f"test − train ({SE})", title="generalisation gap")
    axes[2].axhline(1, color="k", ls=":", lw=1)
    axes[2].set(ylabel=r"$\eta\,\lambda_{max}/2$", title="sharpness × η/2 (edge: 1)", xlabel="batch size b")
    axes[3].set(ylabel="φ (percent)", title=f"Keskar's φ, ε = {cfg['epsilon']:g}", xlabel="batch size b")
    for ax in axes:
        ax.set_xscale("log")
        log_ticks(ax, "x", cfg["batch_sizes"])
    letter(axes)
    save(fig, path)
