"""Phase diagrams of SGD over (η, b), built with ``landscape_sde.sweep``: fraction diverged on a
quadratic finite sum (additive noise) and on the interpolating product network, against the
linear-stability predictions.

Which prediction applies. On ``models.Quadratic`` every sample has the same Hessian ``H``; the
gradient noise is additive (independent of θ), so SGD is the linear map ``δ ← (I − ηH)δ − η ξ_B``:
it is stable iff ``0 < η h_i < 2`` for every ``i``, whatever ``b``; the noise only adds the
variance ``η c_b C_ii / (h_i (2 − η h_i))``, finite below ``2/h_max``. The Wu-Ma-E criterion
reduces to the same line here (``Σ_H = 0``): there is no batch-size dependence to find. On the
product network with noiseless labels (``y = x``) the minima interpolate and the per-sample
Hessians ``x_n² g gᵀ`` fluctuate: the exact mean-square criterion (``analysis.stability``, equal
to Wu-Ma-E since these Hessians commute) predicts the starting minimum ``w*`` turns unstable at
``η_c(b)``, far below GD's ``2/S(w*)`` for small batches. It is a bound, not the typical
behaviour: the mean square grows first through rare large excursions, and the typical replica
leaves ``w*`` at a somewhat larger η. Leaving ``w*`` is not diverging: the replicas move along
the valley to flatter minima, and divergence sets in near ``η_c(b)`` of the flattest minimum
``S = 2 m₂``, also drawn.
"""
import functools
import tempfile

import numpy as np

import landscape_sde as lsde
from analysis.stability import mean_square_stability
from landscape_sde.sweeps import STATUS
from matplotlib import patheffects

from figures._style import PALETTE, letter, plt, save
from models import ProductNetwork, Quadratic

CONFIG = dict(
    quadratic=dict(h=[1.0, 4.0], c=[1.0, 0.5], n_samples=32, lrs=np.linspace(0.3, 0.7, 21).tolist(),
                   batch_sizes=[1, 2, 4, 8, 16, 32], seeds=2, n_steps=1000, n_replicas=500),
    product=dict(n_samples=32, data_seed=0, w1=2.0, lrs=np.linspace(0.1, 1.6, 16).tolist(),
                 batch_sizes=[1, 2, 4, 8, 16, 32], seeds=2, n_steps=2000, n_replicas=250),
    bound=1e6, seed=0)
QUICK = {**CONFIG,
         "quadratic": {**CONFIG["quadratic"], "lrs": [0.4, 0.6], "batch_sizes": [1, 32],
                       "seeds": 1, "n_steps": 200, "n_replicas": 50},
         "product": {**CONFIG["product"], "lrs": [0.3, 1.2], "batch_sizes": [1, 32], "seeds": 1,
                     "n_steps": 200, "n_replicas": 50}}


@functools.lru_cache(maxsize=None)
def _quadratic(h, c, n_samples):
    return Quadratic(np.diag(h), np.diag(c), n_samples=n_samples)


@functools.lru_cache(maxsize=None)
def _product(n_samples, data_seed):
    x = np.random.default_rng(data_seed).standard_normal(n_samples)
    return ProductNetwork(x, x)  # noiseless labels: every minimum interpolates


def quadratic_cell(lr, batch_size, seed, rng, *, h, c, n_samples, n_steps, n_replicas, bound):
    """One (η, b, seed) cell on the quadratic: fraction diverged and mean final loss."""
    model = _quadratic(tuple(h), tuple(c), n_samples)
    ens = lsde.simulate(model, lsde.SGD(lr, batch_size), np.ones(len(h)), n_steps=n_steps,
                        n_replicas=n_replicas, save_every=n_steps, rng=rng,
                        stream=lsde.Streaming(coords=()), divergence_bound=bound)
    return {"diverged": ens.diverged.mean(), "loss": ens.stats["mean"][-1, -1]}


def product_cell(lr, batch_size, seed, rng, *, n_samples, data_seed, w1, n_steps, n_replicas,
                 bound):
    """One cell on the product network from ``w* + 0.01``: fraction diverged, fraction that
    left ``w*`` (final valley sharpness below 90 % of ``S(w*)``), mean final sharpness."""
    net = _product(n_samples, data_seed)
    w_star = net.valley_point(w1)
    ens = lsde.simulate(net, lsde.SGD(lr, batch_size), w_star + 0.01, n_steps=n_steps,
                        n_replicas=n_replicas, save_every=n_steps, rng=rng,
                        stream=lsde.Streaming(coords=()), divergence_bound=bound)
    alive = ~ens.diverged
    s = np.mean(net.x ** 2) * (ens.theta[0, alive] ** 2).sum(axis=1)
    s_star = net.valley_sharpness(w_star)
    return {"diverged": ens.diverged.mean(), "left": float(np.sum(s < 0.9 * s_star)) / n_replicas,
            "sharpness": s.mean() if alive.any() else np.nan}


def _critical_lr(net, w, batch_size, lr_max):
    """Smallest η with mean-square spectral radius > 1 at the minimum ``w`` (bisection; the flat
    valley direction keeps the radius at 1 below the threshold, hence the 1e-9 margin)."""
    unstable = lambda lr: mean_square_stability(net, w, lr, batch_size) > 1 + 1e-9  # noqa: E731
    lo, hi = 1e-4, lr_max
    if not unstable(hi):
        return np.nan
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if unstable(mid) else (mid, hi)
    return hi


def _run(cell, cfg, common, store):
    grid = {"lr": cfg["lrs"], "batch_size": cfg["batch_sizes"], "seed": list(range(cfg["seeds"]))}
    fixed = {k: v for k, v in cfg.items() if k not in ("lrs", "batch_sizes", "seeds")}
    ds = lsde.sweep(functools.partial(cell, **fixed, **common), grid, store, seed=common.get("seed", 0),
                    progress=False)
    return ds.load()


def compute(config):
    q, p = config["quadratic"], config["product"]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        dq = _run(quadratic_cell, q, {"bound": config["bound"]}, f"{tmp}/quadratic.zarr")
        dp = _run(product_cell, p, {"bound": config["bound"]}, f"{tmp}/product.zarr")
    for name, ds in (("quadratic", dq), ("product", dp)):
        out[f"{name}_status"] = ds["status"].values
        for var in ds.data_vars:
            if var not in ("status", "error", "seconds"):
                out[f"{name}_{var}"] = ds[var].mean("seed").values
        out[f"{name}_failed"] = int((ds["status"].values == STATUS["failed"]).sum())
    out["quadratic_edge"] = 2.0 / max(q["h"])
    net = _product(p["n_samples"], p["data_seed"])
    w_star = net.valley_point(p["w1"])
    m2 = float(np.mean(net.x ** 2))
    w_flat = net.valley_point(1.0)
    lr_max = 2 * max(p["lrs"])
    out["product_lr_c"] = np.array([_critical_lr(net, w_star, b, lr_max) for b in p["batch_sizes"]])
    out["product_lr_c_flat"] = np.array([_critical_lr(net, w_flat, b, lr_max) for b in p["batch_sizes"]])
    out["product_gd_edge"] = 2.0 / net.valley_sharpness(w_star)
    out["product_flat_edge"] = 2.0 / net.valley_sharpness(w_flat)
    out["product_s_star"], out["product_m2"] = net.valley_sharpness(w_star), m2
    return out


def _heat(ax, lrs, bs, z, title, cmap="cividis"):
    lrs, bs = np.asarray(lrs), np.asarray(bs)
    dl = np.diff(lrs).mean() if lrs.size > 1 else 0.1
    im = ax.imshow(z.T, origin="lower", aspect="auto", cmap=cmap, vmin=0, vmax=1,
                   extent=[lrs[0] - dl / 2, lrs[-1] + dl / 2, -0.5, bs.size - 0.5])
    ax.set_yticks(range(bs.size), [str(b) for b in bs])
    ax.set(xlabel="learning rate η", title=title)
    return im


def plot(data, path):
    """Fractions of replicas (binomial s.e. ≤ √(0.25/(seeds·n_replicas)): ≤ 2.2% on the quadratic,
    ≤ 3.2% on the product network); one colour scale for all panels."""
    c = data["config"]
    q, p = c["quadratic"], c["product"]
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.0), gridspec_kw={"width_ratios": [0.6, 1, 1]})
    stroke = [patheffects.withStroke(linewidth=2.4, foreground="k")]
    im = _heat(axes[0], q["lrs"], q["batch_sizes"], data["quadratic_diverged"], "quadratic")
    axes[0].axvline(data["quadratic_edge"], color=PALETTE[4], lw=1.3, ls="--", path_effects=stroke,
                    label=r"$\eta = 2/h_{max}$ (any b)")
    axes[0].set_ylabel("batch size b")
    y = np.arange(len(p["batch_sizes"]))
    for ax, var, title in ((axes[1], "product_left", "product net: left w*"),
                           (axes[2], "product_diverged", "product net: diverged")):
        _heat(ax, p["lrs"], p["batch_sizes"], data[var], title)
        ax.plot(data["product_lr_c"], y, "o-", color="white", ms=3, lw=1.2, path_effects=stroke,
                label="mean-square edge at w* (Wu-Ma-E)")
        ax.plot(data["product_lr_c_flat"], y, "s--", color=PALETTE[1], ms=3, lw=1.2, path_effects=stroke,
                label="same at the flattest minimum")
        ax.axvline(data["product_gd_edge"], color=PALETTE[2], lw=1, ls=":", path_effects=stroke,
                   label="2/S(w*) (GD)")
        ax.set_xlim(p["lrs"][0] - 0.05, p["lrs"][-1] + 0.05)
        ax.tick_params(labelleft=False)
    fig.colorbar(im, ax=axes, label="fraction of replicas", shrink=0.9)
    h0, l0 = axes[0].get_legend_handles_labels()
    h1, l1 = axes[1].get_legend_handles_labels()
    fig.legend(h0 + h1, l0 + l1, loc="outside lower center", ncol=2, fontsize=7)
    letter(axes)
    save(fig, path)
