"""Phase diagram over (η, b) for loss-dependent noise: where SGD's mean loss stays finite.

On ``FiniteSumValley`` with λ = 1 and i.i.d. batches the across-valley coordinate follows
``y' = (1 − η(1 + σ_r r_B)) y − η σ_y u_B`` with ``E r_B² = E u_B² = 1/b`` and ``E r_B u_B = 0``,
so ``m_t = E y_t²`` obeys ``m_{t+1} = ρ m_t + η²σ_y²/b`` with ``ρ = (1 − η)² + η²σ_r²/b``, exactly.
From ``y_0 = 0``: ``⟨L⟩_t = (η²σ_y²/2b)(1 − ρ^t)/(1 − ρ)``, which tends to ``D₀/(2 − ηλ − α)``
(``D₀ = ησ_y²/2b``, ``α = ησ_r²/b``) when ``ρ < 1`` (the SGD bound ``α + ηλ = 2``) and grows
geometrically beyond it; the SME's bound is ``α = 2``. Paths diverge later still, where the
Lyapunov exponent ``E ln|1 − η(1 + σ_r r_B)|`` turns positive (path-wise bound). Between the two
the stationary law exists but has power-law tails (a Kesten process): ``P(|y| > u) ~ u^{−p}``
with ``E|1 − η(1 + σ_r r_B)|^p = 1``. Beyond ``E a⁴ = 1`` (``p < 4``) the loss has infinite
variance, so a sample mean of ``L`` and its standard error no longer estimate ``⟨L⟩``: the
sample means fall below the exact mean there (open markers).

No survivor averages: the measured ``⟨L⟩`` (mean over replicas, ±1 s.e.) is shown only where no
replica diverged (``|θ| > 10¹⁰``); the fraction of live replicas is drawn separately.
"""
import numpy as np
import sympy as sp
from matplotlib import patheffects

import landscape_sde as lsde
from figures._style import CYCLE, DASHES, MARKERS, SE, letter, log_ticks, plt, save
from models import FiniteSumValley

CONFIG = dict(sigma_r=4.0, sigma_y=1.0, n_samples=16, lrs=list(np.round(np.linspace(0.05, 1.5, 16), 3)),
              batch_sizes=[1, 2, 3, 4, 6, 8, 12, 16], cuts=[2, 4, 8], n_steps=1000, n_replicas=1000, mc_batches=400_000, seed=3)
QUICK = {**CONFIG, "lrs": [0.1, 0.5, 1.0], "batch_sizes": [1, 4, 16], "cuts": [4], "n_steps": 200,
         "n_replicas": 100, "mc_batches": 10_000}


def exact_mean_loss(lr, b, sigma_r, sigma_y, t):
    """``⟨L⟩_t`` of SGD from ``y_0 = 0`` (λ = 1, i.i.d. batches), exactly."""
    lr = np.asarray(lr, dtype=float)
    rho = (1 - lr) ** 2 + lr**2 * sigma_r**2 / b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        geo = np.where(np.isclose(rho, 1.0), t, (1 - rho**t) / (1 - rho))
    return lr**2 * sigma_y**2 / (2 * b) * geo


def compute(config):
    s_r, s_y = config["sigma_r"], config["sigma_y"]
    fv = FiniteSumValley(sp.Integer(1), sigma_x=1e-3, sigma_y=s_y, sigma_r=s_r,
                         n_samples=config["n_samples"])
    lrs, bs = config["lrs"], config["batch_sizes"]
    shape = (len(bs), len(lrs))
    mean_loss, mean_se, diverged = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape)
    for i, b in enumerate(bs):
        for j, lr in enumerate(lrs):
            ens = lsde.simulate(fv, lsde.SGD(lr, b, replace=True), [0.0, 0.0],
                                n_steps=config["n_steps"], n_replicas=config["n_replicas"],
                                save_every=config["n_steps"], rng=config["seed"])
            diverged[i, j] = ens.diverged.mean()
            alive = ens.loss[-1][~ens.diverged]
            if alive.size > 1:
                mean_loss[i, j] = alive.mean()
                mean_se[i, j] = alive.std(ddof=1) / np.sqrt(alive.size)
    # Almost-sure (path-wise) stability: the Lyapunov exponent E ln|1 − η(1 + σ_r r_B)| < 0, with
    # r_B the mean of b i.i.d. draws of the data's r_n (Monte Carlo over ``mc_batches`` batches, fixed seed).
    r = fv.data[2]
    gen = np.random.default_rng(0)
    eta = np.linspace(0.01, max(lrs), 300)
    as_bound, var_bound = [], []
    for b in bs:
        rb = r[gen.integers(0, r.size, size=(config["mc_batches"], b))].mean(axis=1)
        with np.errstate(divide="ignore"):
            gamma = [np.mean(np.log(np.abs(1 - e * (1 + s_r * rb)))) for e in eta]
        crossing = np.nonzero(np.diff(np.sign(gamma)) > 0)[0]
        as_bound.append(eta[crossing[0]] if crossing.size else np.nan)
        # E a⁴ = 1 (a = 1 − η(1 + σ_r r_B)): beyond it L has infinite variance
        fourth = [np.mean((1 - e * (1 + s_r * rb)) ** 4) for e in eta]
        crossing = np.nonzero(np.diff(np.sign(np.array(fourth) - 1)) > 0)[0]
        var_bound.append(eta[crossing[0]] if crossing.size else np.nan)
    fine = np.linspace(min(lrs), max(lrs), 400)
    out = {"lrs": np.array(lrs), "batch_sizes": np.array(bs), "mean_loss": np.where(diverged == 0, mean_loss, np.nan),
           "mean_loss_se": np.where(diverged == 0, mean_se, np.nan), "survivor_mean_loss": mean_loss,
           "diverged_fraction": diverged, "live_fraction": 1 - diverged, "as_bound": np.array(as_bound),
           "var_bound": np.array(var_bound),
           "fine_lrs": fine,
           # the bounds as b(η): SME α = ησ_r²/b = 2; SGD α + ηλ = 2 (λ = 1)
           "sme_bound_b": fine * s_r**2 / 2, "sgd_bound_b": np.where(fine < 2, fine * s_r**2 / (2 - fine), np.inf),
           "predicted": np.array([exact_mean_loss(np.array(lrs), b, s_r, s_y, config["n_steps"]) for b in bs])}
    for b in config["cuts"]:
        out[f"cut_exact_{b}"] = exact_mean_loss(fine, b, s_r, s_y, config["n_steps"])
        with np.errstate(divide="ignore"):
            out[f"cut_stationary_{b}"] = np.where(fine * (1 + s_r**2 / b) < 2,
                                                  fine * s_y**2 / (2 * b) / (2 - fine - fine * s_r**2 / b), np.nan)
    return out


def _edges(v, log=False):
    v = np.log(v) if log else np.asarray(v, dtype=float)
    mid = (v[1:] + v[:-1]) / 2
    e = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]]) if v.size > 1 else np.array([v[0] - 0.5, v[0] + 0.5])
    return np.exp(e) if log else e


def plot(data, path):
    c = data["config"]
    lrs, bs = np.asarray(data["lrs"]), np.asarray(data["batch_sizes"])
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.0))
    xe, ye = _edges(lrs), _edges(bs, log=True)
    fine = np.asarray(data["fine_lrs"])

    def bounds(ax, legend):
        ax.plot(fine, data["sme_bound_b"], color="white", ls="-", lw=1.6, label="SME bound α = 2",
                path_effects=[patheffects.withStroke(linewidth=2.8, foreground="k")])
        sgd_b = np.asarray(data["sgd_bound_b"], dtype=float)
        ax.plot(fine, np.where(np.isfinite(sgd_b), sgd_b, np.nan), color="k", ls="--", lw=1.4, label="SGD bound α + ηλ = 2")
        ax.plot(data["var_bound"], bs, "s:", color=CYCLE[3], lw=1.3, ms=3, label="Var L = ∞ (E a⁴ = 1)")
        ax.plot(data["as_bound"], bs, "o-", color=CYCLE[1], lw=1.3, ms=3, label="path-wise bound")
        ax.set(yscale="log", xlim=(xe[0], xe[-1]), ylim=(ye[0], ye[-1]), xlabel="learning rate η")
        log_ticks(ax, "y", bs)
        if legend:
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=7)

    ax = axes[0]
    ax.set_facecolor("0.8")
    z = np.log10(np.ma.masked_invalid(np.asarray(data["mean_loss"], dtype=float)))
    mesh = ax.pcolormesh(xe, ye, z, cmap="viridis", vmin=-3, vmax=3)
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\langle L\rangle$")
    bounds(ax, legend=True)
    ax.set(ylabel="batch size b (i.i.d.)", title="⟨L⟩ (grey: some diverged)")
    ax = axes[1]
    mesh = ax.pcolormesh(xe, ye, np.asarray(data["live_fraction"]), cmap="cividis", vmin=0, vmax=1)
    fig.colorbar(mesh, ax=ax, label="live fraction")
    bounds(ax, legend=False)
    ax.set(title=f"live fraction ({c['n_replicas']} replicas)")
    ax = axes[2]
    for k, b in enumerate(c["cuts"]):
        i = int(np.nonzero(bs == b)[0][0])
        ok = lrs < data["var_bound"][i]
        ax.errorbar(lrs[ok], data["mean_loss"][i][ok], data["mean_loss_se"][i][ok], fmt=MARKERS[k],
                    color=CYCLE[k], ms=3, ls="none", label=f"b = {b}")
        ax.plot(lrs[~ok], data["mean_loss"][i][~ok], MARKERS[k], color=CYCLE[k], mfc="white", ms=3)
        ax.plot(fine, data[f"cut_exact_{b}"], color=CYCLE[k], lw=1)
        ax.plot(fine, data[f"cut_stationary_{b}"], color=CYCLE[k], lw=1, ls=":")
    ax.plot([], [], "k-", lw=1, label=f"exact, t = {c['n_steps']}")
    ax.plot([], [], "k:", lw=1, label=r"$D_0/(2-\eta\lambda-\alpha)$")
    ax.set(yscale="log", xlabel="learning rate η", ylabel=f"⟨L⟩ ({SE})", title="cuts at fixed b",
           ylim=(1e-3, 1e3), xlim=(0, 1.5))
    log_ticks(ax, "y", [1e-3, 1e-2, 0.1, 1, 10, 100, 1000])
    ax.legend(loc="lower right", fontsize=6)
    letter(axes)
    save(fig, path)
