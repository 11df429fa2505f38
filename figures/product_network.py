"""Product network: SGD drifts along the hyperbola of minima towards the flattest one; GD does not.

One SGD step multiplies the imbalance ``d = w₁² − w₂²`` by ``1 − η² e_B²`` exactly (``e_B`` the
batch mean of ``e_n = (w₁w₂x_n − y_n) x_n``). Given the state, the expected factor is
``1 − η² m(θ)`` with ``m(θ) = E_B[e_B²] = ē(θ)² + c_b Var_n e_n(θ)`` (full-gradient part plus
mini-batch part), so with ``P_t = ∏_{k<t} (1 − η² m(θ_k))`` evaluated along each path,
``d_t / P_t`` is a martingale: its ensemble mean stays at ``d_0`` (an exact test). The
prediction drawn for ``⟨d_t⟩`` is ``d_0 ⟨P_t⟩``; the rate ``η² c_b Var_n e_n`` at the starting
minimum (the small-noise, on-the-valley limit) collapses the runs when time is scaled by it.
"""
import numpy as np

import landscape_sde as lsde
from figures._style import CYCLE, DASHES, SE, band, letter, mean_se, plt, save
from landscape_sde.noise import batch_noise_factor
from models import ProductNetwork

CONFIG = dict(n_samples=64, label_noise=0.5, data_seed=0, w1_start=2.5, n_steps=15000, n_saved=150,
              n_replicas=400, runs=[[0.05, 4], [0.1, 4], [0.1, 16]], n_paths=4, seed=4)
QUICK = {**CONFIG, "n_steps": 300, "n_saved": 30, "n_replicas": 50}


def _expected_e2(net, c_b):
    """``θ (n, 2) -> E_B[e_B²]`` per replica, exactly, for batches with noise factor ``c_b``."""
    def fn(th):
        th = np.asarray(th, dtype=float)
        e = (th[:, :1] * th[:, 1:2] * net.x - net.y) * net.x  # (n, N)
        return e.mean(axis=1) ** 2 + c_b * e.var(axis=1)
    return fn


def compute(config):
    net = ProductNetwork(n_samples=config["n_samples"], label_noise=config["label_noise"],
                         rng=config["data_seed"])
    w0 = net.valley_point(config["w1_start"])
    n_steps = config["n_steps"]
    save_at = np.unique(np.linspace(0, n_steps, config["n_saved"] + 1).astype(int))
    w1 = np.linspace(0.45, 2.8, 300)
    flattest = np.sqrt(net.product)
    out = {"product": net.product, "w0": w0, "runs": [], "save_at": save_at,
           "valley_w1": w1, "valley_w2": net.product / w1,
           "valley_sharpness": np.mean(net.x**2) * (w1**2 + (net.product / w1) ** 2),
           "flattest_w1": flattest, "flattest_sharpness": net.valley_sharpness([flattest, flattest])}
    gd = lsde.simulate(net, lsde.GD(config["runs"][0][0]), w0, n_steps=n_steps, save_at=save_at)
    out["gd_path"] = gd.theta[:, 0]
    out["gd_imbalance"] = gd.theta[:, 0, 0] ** 2 - gd.theta[:, 0, 1] ** 2
    e0 = net.sample_grads(w0)[:, 0] / w0[1]  # residual-weighted inputs at the start
    for k, (lr, b) in enumerate(config["runs"]):
        c_b = batch_noise_factor(net.n_samples, b)
        ens = lsde.simulate(net, lsde.SGD(lr, b), w0, n_steps=n_steps,
                            n_replicas=config["n_replicas"], save_at=save_at, rng=config["seed"] + k,
                            observe={"m": (1, _expected_e2(net, c_b))})
        m = ens.observables["m"]["values"]  # (n_steps + 1, n_replicas): E_B[e_B²] at θ_k
        log_p = np.concatenate([np.zeros((1, m.shape[1])), np.cumsum(np.log1p(-lr**2 * m[:-1]), axis=0)])
        P = np.exp(log_p[save_at])  # the predictable product at the saved steps
        d = ens.theta[..., 0] ** 2 - ens.theta[..., 1] ** 2
        d0 = d[0, 0]
        out[f"t_{k}"] = ens.t
        out[f"imbalance_{k}"], out[f"imbalance_se_{k}"], _ = mean_se(d, axis=1)
        out[f"predicted_{k}"] = d0 * P.mean(axis=1)
        out[f"martingale_{k}"], out[f"martingale_se_{k}"], _ = mean_se(d / P / d0, axis=1)
        out[f"paths_{k}"] = ens.theta[:, :config["n_paths"]]
        w1_end = np.abs(ens.theta[-1, :, 0])
        s_end = np.mean(net.x**2) * np.sum(ens.theta[-1] ** 2, axis=1)
        out["runs"].append({
            "lr": lr, "batch_size": b, "c_b": c_b,
            "valley_rate": lr**2 * c_b * float(np.var(e0)),
            "final_imbalance": float(d[-1].mean()), "final_imbalance_se": float(d[-1].std(ddof=1) / np.sqrt(d.shape[1])),
            "final_w1": float(w1_end.mean()), "final_w1_se": float(w1_end.std(ddof=1) / np.sqrt(w1_end.size)),
            "final_sharpness_ratio": float(s_end.mean() / out["flattest_sharpness"]),
            "martingale_max_z": float(np.nanmax(np.abs(out[f"martingale_{k}"][1:] - 1)
                                                / out[f"martingale_se_{k}"][1:])),
        })
    out["m2"] = float(np.mean(net.x ** 2))
    return out


def plot(data, path):
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.2))
    axes = axes.ravel()
    ax = axes[0]
    sc = ax.scatter(data["valley_w1"], data["valley_w2"], c=data["valley_sharpness"], s=3,
                    cmap="viridis", zorder=1)
    fig.colorbar(sc, ax=ax, label=r"valley sharpness $m_2(w_1^2 + w_2^2)$")
    run = data["runs"][1]
    paths = np.asarray(data["paths_1"])
    for r in range(paths.shape[1]):
        ax.plot(paths[:, r, 0], paths[:, r, 1], lw=0.7, color=CYCLE[1], alpha=0.8,
                label=f"SGD η = {run['lr']:g}, b = {run['batch_size']}" if r == 0 else None)
    gd = np.asarray(data["gd_path"])
    ax.plot(gd[-1, 0], gd[-1, 1], "o", color="k", ms=6, mfc="none", label="GD (stays)")
    ax.plot(*data["w0"], "k*", ms=8, label="start")
    f = data["flattest_w1"]
    ax.plot(f, f, "D", color=CYCLE[2], ms=5, label="flattest")
    ax.set(xlabel="$w_1$", ylabel="$w_2$", xlim=(0.4, 2.8), ylim=(0.2, 2.2), title="paths")
    ax.legend(loc="upper right")
    ax = axes[1]
    for k, run in enumerate(data["runs"]):
        t = np.asarray(data[f"t_{k}"])
        line = band(ax, t, data[f"imbalance_{k}"], data[f"imbalance_se_{k}"], color=CYCLE[k], lw=1.2,
                    label=f"η = {run['lr']:g}, b = {run['batch_size']}")
        ax.plot(t, data[f"predicted_{k}"], color="k", ls=":", lw=1)
    ax.plot(t, data["gd_imbalance"], color="0.5", lw=1, ls="--", label="GD")
    ax.plot([], [], "k:", lw=1, label=r"$d_0\langle\prod(1-\eta^2 m)\rangle$")
    ax.set(yscale="log", xlabel="step", ylabel=r"$\langle w_1^2 - w_2^2\rangle$", title="imbalance")
    ax.legend(loc="lower left")
    ax = axes[2]
    for k, run in enumerate(data["runs"]):
        t = np.asarray(data[f"t_{k}"])
        ax.plot(t * run["valley_rate"], np.asarray(data[f"imbalance_{k}"]) / data[f"imbalance_{k}"][0],
                color=CYCLE[k], ls=DASHES[k], lw=1.2)
    s = np.linspace(0, 6, 50)
    ax.plot(s, np.exp(-s), "k:", lw=1, label=r"$e^{-s}$")
    ax.set(yscale="log", xlabel=r"$s = \eta^2 c_b \mathrm{Var}(e)\, t$", ylabel=r"$\langle d\rangle / d_0$",
           title=r"collapse in $\eta^2 c_b t$", xlim=(0, 6), ylim=(2e-3, 1.2))
    ax.legend(loc="lower left")
    ax = axes[3]
    for k, run in enumerate(data["runs"]):
        band(ax, data[f"t_{k}"], np.asarray(data[f"martingale_{k}"]) - 1, data[f"martingale_se_{k}"],
             color=CYCLE[k], lw=1, ls=DASHES[k])
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="step", ylabel=r"$\langle d_t/(d_0 P_t)\rangle - 1$", title=f"martingale check ({SE})")
    letter(axes)
    save(fig, path)
