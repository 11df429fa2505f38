"""Final sharpness of SGD over (η, b) on a small deep linear network, built with
``landscape_sde.sweep``: larger steps and smaller batches end in flatter minima, below the
full-batch edge ``2/η`` (Jastrzębski et al., ICLR 2019; Cohen et al., ICLR 2021).

No survivor averages: a cell's sharpness is shown only where every replica of every seed stayed
finite (the live fraction is its own panel), and cells whose mean final loss exceeds
``loss_threshold`` (not converged) are marked. Sharpness is the mean over the ``seeds ×
n_replicas`` replicas, ±1 s.e. over them.
"""
import functools
import tempfile

import numpy as np

import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import CYCLE, MARKERS, SE, letter, plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(widths=[5, 5, 5, 5], n_samples=64, data_seed=0, init_seed=1,
              lrs=np.linspace(0.025, 0.45, 18).tolist(), batch_sizes=[1, 2, 4, 8, 16, 32, 64],
              seeds=2, n_steps=2000, n_replicas=8, bound=1e4, loss_threshold=0.01, seed=0)
QUICK = {**CONFIG, "lrs": [0.05, 0.3], "batch_sizes": [2, 64], "seeds": 1, "n_steps": 100,
         "n_replicas": 2}


@functools.lru_cache(maxsize=None)
def _network(widths, n_samples, data_seed):
    return DeepLinearNetwork.teacher_student(list(widths), n_samples, rng=data_seed)


def cell(lr, batch_size, seed, rng, *, widths, n_samples, data_seed, init_seed, n_steps,
         n_replicas, bound):
    """SGD from one Xavier initialisation; the sum and sum of squares of the final sharpness
    (Lanczos on exact HVPs) over the surviving replicas, their number, the fraction diverged
    and the mean final loss."""
    net = _network(tuple(widths), n_samples, data_seed)
    theta0 = net.init(rng=init_seed)
    ens = lsde.simulate(net, lsde.SGD(lr, batch_size), theta0, n_steps=n_steps,
                        n_replicas=n_replicas, save_every=n_steps, rng=rng,
                        stream=lsde.Streaming(coords=()), divergence_bound=bound)
    alive = ~ens.diverged
    s = [sharpness(net, th, tol=1e-8).sharpness for th in ens.theta[0, alive]]
    return {"s_sum": float(np.sum(s)), "s_sq": float(np.sum(np.square(s))), "n_alive": len(s),
            "diverged": ens.diverged.mean(), "loss": ens.stats["mean"][-1, -1]}


def compute(config):
    grid = {"lr": config["lrs"], "batch_size": config["batch_sizes"],
            "seed": list(range(config["seeds"]))}
    fixed = {k: config[k] for k in ("widths", "n_samples", "data_seed", "init_seed", "n_steps",
                                    "n_replicas", "bound")}
    with tempfile.TemporaryDirectory() as tmp:
        ds = lsde.sweep(functools.partial(cell, **fixed), grid, f"{tmp}/dln.zarr",
                        seed=config["seed"], progress=False).load()
    net = _network(tuple(config["widths"]), config["n_samples"], config["data_seed"])
    n = ds["n_alive"].sum("seed").values
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = ds["s_sum"].sum("seed").values / n
        var = (ds["s_sq"].sum("seed").values - n * mean**2) / (n - 1)
        se = np.sqrt(np.clip(var, 0, None) / n)
    live = 1 - ds["diverged"].mean("seed").values
    # survivors only would bias the cell: keep the mean where every replica is alive
    return {"sharpness": np.where(live == 1, mean, np.nan), "sharpness_se": np.where(live == 1, se, np.nan),
            "survivor_sharpness": mean, "live_fraction": live, "diverged": 1 - live,
            "loss": ds["loss"].mean("seed").values, "status": ds["status"].values,
            "edge": 2 / np.asarray(config["lrs"]),
            "initial_sharpness": sharpness(net, net.init(rng=config["init_seed"])).sharpness}


def plot(data, path):
    c = data["config"]
    lrs, bs = np.asarray(c["lrs"]), np.asarray(c["batch_sizes"])
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.8), gridspec_kw={"width_ratios": [1.15, 1.15, 1]})
    dl = np.diff(lrs).mean() if lrs.size > 1 else 0.1
    extent = [lrs[0] - dl / 2, lrs[-1] + dl / 2, -0.5, bs.size - 0.5]
    live = np.asarray(data["live_fraction"])
    unconverged = (np.asarray(data["loss"]) > c["loss_threshold"]) & (live == 1)
    ax = axes[0]
    ax.set_facecolor("0.8")
    im = ax.imshow(np.ma.masked_invalid(data["sharpness"]).T, origin="lower", aspect="auto",
                   cmap="viridis", extent=extent)
    fig.colorbar(im, ax=ax, label=r"final $\lambda_{max}$")
    i, j = np.nonzero(unconverged)
    ax.plot(lrs[i], j, "x", color="white", ms=4, mew=1)
    ax.plot([], [], "s", color="0.8", ms=6, label="some replicas diverged")
    ax.plot([], [], "x", color="k", ms=4, label=f"loss > {c['loss_threshold']:g}")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=7)
    ax.set_yticks(range(bs.size), [str(b) for b in bs])
    ax.set(xlabel="learning rate η", ylabel="batch size b", title="final sharpness (all alive)")
    ax = axes[1]
    im = ax.imshow(live.T, origin="lower", aspect="auto", cmap="cividis", extent=extent, vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="live fraction")
    ax.set_yticks(range(bs.size), [str(b) for b in bs])
    ax.set(xlabel="learning rate η", title=f"live fraction ({c['seeds']}×{c['n_replicas']} replicas)")
    ax = axes[2]
    shown = [k for k in range(bs.size) if k % 2 == 0 or k == bs.size - 1]
    for n, k in enumerate(shown):
        y = np.asarray(data["sharpness"])[:, k] * lrs / 2
        e = np.asarray(data["sharpness_se"])[:, k] * lrs / 2
        ok = ~unconverged[:, k]
        line = ax.errorbar(lrs[ok], y[ok], e[ok], fmt=MARKERS[n] + "-", color=CYCLE[n], ms=3, lw=1,
                           label=f"b = {bs[k]}")
        ax.errorbar(lrs[~ok], y[~ok], e[~ok], fmt=MARKERS[n], color=CYCLE[n], mfc="white", ms=3, ls="none")
    ax.axhline(1, color="k", ls=":", lw=1, label="edge 2/η")
    ax.set(xlabel="learning rate η", ylabel=r"final $\lambda_{max}\,\eta/2$", ylim=(0, 1.6),
           title=f"S·η/2 ({SE})")
    ax.legend(loc="lower right", fontsize=6.5)
    letter(axes)
    save(fig, path)
