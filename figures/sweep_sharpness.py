"""Final sharpness of SGD over (η, b) on a small deep linear network, built with
``landscape_sde.sweep``: larger steps and smaller batches end in flatter minima, below the
full-batch edge ``2/η`` (Jastrzębski et al., ICLR 2019; Cohen et al., ICLR 2021)."""
import functools
import tempfile

import numpy as np

import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(widths=[5, 5, 5, 5], n_samples=64, data_seed=0, init_seed=1,
              lrs=np.linspace(0.025, 0.45, 18).tolist(), batch_sizes=[1, 2, 4, 8, 16, 32, 64],
              seeds=2, n_steps=2000, n_replicas=8, bound=1e4, seed=0)
QUICK = {**CONFIG, "lrs": [0.05, 0.3], "batch_sizes": [2, 64], "seeds": 1, "n_steps": 100,
         "n_replicas": 2}


@functools.lru_cache(maxsize=None)
def _network(widths, n_samples, data_seed):
    return DeepLinearNetwork.teacher_student(list(widths), n_samples, rng=data_seed)


def cell(lr, batch_size, seed, rng, *, widths, n_samples, data_seed, init_seed, n_steps,
         n_replicas, bound):
    """SGD from one Xavier initialisation; the final sharpness (Lanczos on exact HVPs) of
    every surviving replica, averaged, the fraction diverged and the mean final loss."""
    net = _network(tuple(widths), n_samples, data_seed)
    theta0 = net.init(rng=init_seed)
    ens = lsde.simulate(net, lsde.SGD(lr, batch_size), theta0, n_steps=n_steps,
                        n_replicas=n_replicas, save_every=n_steps, rng=rng,
                        stream=lsde.Streaming(coords=()), divergence_bound=bound)
    alive = ~ens.diverged
    s = [sharpness(net, th, tol=1e-8).sharpness for th in ens.theta[0, alive]]
    return {"sharpness": np.mean(s) if s else np.nan, "diverged": ens.diverged.mean(),
            "loss": ens.stats["mean"][-1, -1]}


def compute(config):
    grid = {"lr": config["lrs"], "batch_size": config["batch_sizes"],
            "seed": list(range(config["seeds"]))}
    fixed = {k: config[k] for k in ("widths", "n_samples", "data_seed", "init_seed", "n_steps",
                                    "n_replicas", "bound")}
    with tempfile.TemporaryDirectory() as tmp:
        ds = lsde.sweep(functools.partial(cell, **fixed), grid, f"{tmp}/dln.zarr",
                        seed=config["seed"], progress=False).load()
    net = _network(tuple(config["widths"]), config["n_samples"], config["data_seed"])
    sharp = ds["sharpness"].where(ds["diverged"] < 1)  # a fully diverged cell has no sharpness
    return {"sharpness": sharp.mean("seed").values, "diverged": ds["diverged"].mean("seed").values,
            "loss": ds["loss"].mean("seed").values, "status": ds["status"].values,
            "initial_sharpness": sharpness(net, net.init(rng=config["init_seed"])).sharpness}


def plot(data, path):
    c = data["config"]
    lrs, bs = np.asarray(c["lrs"]), np.asarray(c["batch_sizes"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3), gridspec_kw={"wspace": 0.3})
    dl = np.diff(lrs).mean() if lrs.size > 1 else 0.1
    extent = [lrs[0] - dl / 2, lrs[-1] + dl / 2, -0.5, bs.size - 0.5]
    s = np.ma.masked_invalid(data["sharpness"])
    im = axes[0].imshow(s.T, origin="lower", aspect="auto", cmap="viridis", extent=extent)
    fig.colorbar(im, ax=axes[0], label=r"final sharpness $\lambda_{max}(\nabla^2 L)$")
    axes[0].contour(lrs, np.arange(bs.size), (np.asarray(data["diverged"]) > 0.5).T.astype(float),
                    levels=[0.5], colors="red", linewidths=1.2)
    axes[0].plot([], [], color="red", label="> half of the replicas diverged")
    axes[0].legend(fontsize=7, loc="upper right")
    axes[0].set_yticks(range(bs.size), [str(b) for b in bs])
    axes[0].set(xlabel="learning rate η", ylabel="batch size b",
                title=f"SGD ends flatter for larger η, smaller b (initial S = {data['initial_sharpness']:.1f})")
    for k, b in enumerate(bs):
        if k % 2 == 0 or k == bs.size - 1:
            axes[1].plot(lrs, data["sharpness"][:, k], "o-", ms=3, lw=1.2, label=f"b = {b}")
    axes[1].plot(lrs, 2 / lrs, "k:", lw=1.2, label="2/η")
    axes[1].set(xlabel="learning rate η", ylabel="final sharpness", yscale="log",
                ylim=(0.5 * np.nanmin(data["sharpness"]), 2 * np.nanmax(data["sharpness"])),
                title="GD (b = N) tracks 2/η where it converges; small batches end below it")
    axes[1].legend(fontsize=7)
    fig.suptitle(f"Deep linear network {c['widths']}, N = {c['n_samples']} teacher-student; "
                 f"{lrs.size}×{bs.size}×{c['seeds']} cells of {c['n_replicas']} replicas × "
                 f"{c['n_steps']} steps (lsde.sweep)", fontsize=10)
    save(fig, path)
