"""Test loss and sharpness (λ_max, Keskar's φ) against the batch size, at fixed η and at fixed g."""
import numpy as np

from analysis.large_batch import batch_size_sweep
from figures._style import plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(widths=[6, 6, 6, 6], n_samples=128, n_test=2048, noise=1.0, n_epochs=30,
              lr=0.02, batch_sizes=[2, 4, 8, 16, 32, 64, 128], g=0.3, g_batch_sizes=[2, 4, 8, 16, 32],
              n_replicas=16, epsilon=1e-3)
QUICK = {**CONFIG, "n_epochs": 5, "batch_sizes": [4, 32, 128], "g_batch_sizes": [4, 16],
         "n_replicas": 2, "n_test": 256}


def compute(config):
    net = DeepLinearNetwork.teacher_student(config["widths"], config["n_samples"], noise=config["noise"],
                                            n_test=config["n_test"], rng=0)
    th0 = net.init(rng=1)
    out = {}
    for name, kw, bs in (("lr", {"lr": config["lr"]}, config["batch_sizes"]),
                         ("g", {"noise_scale_g": config["g"]}, config["g_batch_sizes"])):
        s = batch_size_sweep(net, th0, bs, n_epochs=config["n_epochs"], n_replicas=config["n_replicas"],
                             epsilon=config["epsilon"], rng=0, **kw)
        out[f"{name}_b"], out[f"{name}_lrs"], out[f"{name}_g"] = s.batch_sizes, s.lrs, s.noise_scales
        out[f"{name}_updates"] = s.n_updates
        for key in ("train_loss", "test_loss", "sharpness", "keskar"):
            a = getattr(s, key)
            out[f"{name}_{key}"] = np.nanmean(a, axis=1)
            out[f"{name}_{key}_se"] = np.nanstd(a, axis=1, ddof=1) / np.sqrt(np.sum(np.isfinite(a), axis=1))
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    cfg = data["config"]
    for name, lab, col in (("lr", f"fixed η = {cfg['lr']:g}", "C0"),
                           ("g", f"fixed g = η(N/b − 1) = {cfg['g']:g}", "C3")):
        b = data[f"{name}_b"]
        for ax, key, fmt in ((axes[0], "test_loss", "o-"), (axes[0], "train_loss", "s--"),
                             (axes[1], "sharpness", "o-"), (axes[2], "keskar", "o-")):
            extra = " (train)" if key == "train_loss" else ""
            ax.errorbar(b, data[f"{name}_{key}"], data[f"{name}_{key}_se"], fmt=fmt, color=col,
                        ms=4, lw=1.2, mfc="none" if extra else None, label=lab + extra)
    axes[1].plot(data["g_b"], 2 / data["g_lrs"], ":", color="C3", lw=1, label="2/η at fixed g")
    axes[0].set(xscale="log", xlabel="batch size b", ylabel="loss (mean ± SE)",
                title=f"final loss after {cfg['n_epochs']} epochs")
    axes[1].set(xscale="log", xlabel="batch size b", ylabel="λ_max(∇²L)", title="sharpness S",
                ylim=(0, 1.5 * np.nanmax(data["lr_sharpness"])))
    axes[2].set(xscale="log", xlabel="batch size b", ylabel="φ (percent)",
                title=f"Keskar's φ, box ε = {cfg['epsilon']:g}·(|θ|+1)")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(f"Teacher-student deep linear regression {cfg['widths']}, N = {cfg['n_samples']}: "
                 "at fixed η large b means fewer updates (Hoffer); at fixed g the test loss is flat "
                 "until η is too large", fontsize=10)
    save(fig, path)
