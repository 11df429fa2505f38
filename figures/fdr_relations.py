"""Yaida's fluctuation-dissipation relations at stationarity: FDR1 on four systems, its
momentum forms, FDR2 and Han's linear-learning matrix identity element by element, and the
per-layer shares of a deep linear network.

Han's trace form ``⟨L⟩ − L* = (η/4)⟨‖g_B‖²⟩`` is FDR1 divided by two on any linear least-squares
problem with the origin at the minimiser (``δ·∇L = 2(L − L*)``), so it is not drawn; its matrix
form ``⟨δᵀδ⟩Σ_xx + Σ_xx⟨δᵀδ⟩ = η⟨G_BᵀG_B⟩`` is independent of FDR1 and is tested on a linear
network with vector outputs (``W`` 2×3). Without momentum the identity
``E|θ_{k+1} − o|² − E|θ_k − o|² = η²E‖g_B‖² − 2ηE[(θ_k − o)·∇L]`` holds at every step, so the
drift of ``⟨|θ − o|²⟩`` over the measurement window (first and last states) gives the exact
finite-window correction of FDR1 (open markers). All errors are ±1 s.e. (batch means over
time blocks and replicas; replicas for the drift).
"""
import numpy as np

import landscape_sde as lsde
from analysis import fdr
from analysis.stationary import discrete_lyapunov
from figures._style import CYCLE, MARKERS, SE, letter, log_ticks, plt, save
from landscape_sde.noise import batch_noise_factor
from models import LinearRegression, Quadratic
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(lrs=[0.05, 0.1, 0.2, 0.4, 0.8], momentum=0.5, batch_size=2, n_replicas=64,
              n_steps=6000, burn_in=1000, every=10, dln_lrs=[0.05, 0.1, 0.2], dln_steps=20000)
QUICK = {**CONFIG, "lrs": [0.1, 0.4], "n_replicas": 16, "n_steps": 1500, "burn_in": 300,
         "dln_lrs": [0.2], "dln_steps": 3000}


def _systems():
    H = np.array([[1.5, 0.3], [0.3, 0.6]])
    C = np.array([[1.0, 0.2], [0.2, 0.5]])
    quad = Quadratic(H, C, n_samples=8, center=[0.5, -0.3])
    lin = LinearRegression.teacher_student(32, 3, noise=0.5, rng=2)
    vec = DeepLinearNetwork.teacher_student([3, 2], 32, noise=0.5, rng=2)  # one layer, W 2×3
    return quad, H, C, lin, vec


def _run(model, scheme, theta0, origin, config, *, n_steps=None, burn_in=None, every=None,
         n_replicas=None, rng=1, **kw):
    """Simulate with an FDR observer; also the exact drift correction of FDR1 (μ = 0)."""
    n_steps = n_steps or config["n_steps"]
    burn_in = config["burn_in"] if burn_in is None else burn_in
    obs = fdr.FDRObserver(model, scheme, origin, **kw)
    ens = lsde.simulate(model, scheme, theta0, n_steps=n_steps, n_replicas=n_replicas or config["n_replicas"],
                        save_at=[burn_in], rng=rng, observe={"fdr": obs.spec(every or config["every"])})
    rels = fdr.yaida_relations(ens, obs, burn_in=burn_in)
    r = rels["FDR1"]
    row = {"ratio": r.ratio, "ratio_se": r.ratio_se, "z": float(r.z), "drift_z": r.drift_z,
           "holds": r.holds}
    if scheme.momentum == 0:
        sq = np.sum((ens.theta - np.asarray(obs.origin)) ** 2, axis=-1)  # (2, n_replicas)
        per_step = (sq[-1] - sq[0]) / (n_steps - burn_in)
        corr = float(per_step.mean()) / (2 * scheme.lr)
        corr_se = float(per_step.std(ddof=1) / np.sqrt(per_step.size)) / (2 * scheme.lr)
        rhs = float(r.rhs) - corr
        row.update(drift_ratio=float(r.lhs) / rhs,
                   drift_ratio_se=float(np.hypot(r.ratio_se, float(r.lhs) * corr_se / rhs**2)))
    return rels, ens, obs, row


def _upper(rel):
    i, j = np.triu_indices(np.asarray(rel.lhs).shape[-1])
    return np.asarray(rel.z)[i, j]


def compute(config):
    quad, H, C, lin, vec = _systems()
    b, mu = config["batch_size"], config["momentum"]
    rows = {k: [] for k in ("quad", "quad_mom_v", "quad_mom_g", "linreg", "vector", "dln")}
    z2 = {"quad": [], "linreg": [], "vector": []}
    mom_pred = []
    c_b = batch_noise_factor(quad.n_samples, b)
    W = (vec.Y.T @ vec.X) @ np.linalg.inv(vec.X.T @ vec.X)  # least squares, row-major 2×3
    w_vec = W.ravel()
    for lr in config["lrs"]:
        rels, _, _, row = _run(quad, lsde.SGD(lr, b), quad.center, quad.center, config, matrix_shape=(1, 2))
        rows["quad"].append(row)
        z2["quad"].append(_upper(rels["FDR2"]))
        lr_m = min(lr, 1.2)  # heavy ball is stable for η λ < 2(1 + μ); keep η λ_max < 2
        rels, _, _, row = _run(quad, lsde.SGD(lr_m, b, momentum=mu), quad.center, quad.center, config)
        rows["quad_mom_v"].append(row)
        g = rels["FDR1_noise_scale"]
        rows["quad_mom_g"].append({"ratio": g.ratio, "ratio_se": g.ratio_se, "holds": g.holds})
        # exact prediction of the g_B-only ratio: the discrete Lyapunov covariance of (θ, v)
        S = discrete_lyapunov(H, c_b * C, lr_m, mu, joint=True)[:2, :2]
        mom_pred.append(np.trace(H @ S) / (lr_m / (2 * (1 - mu)) * (np.trace(H @ S @ H) + c_b * np.trace(C))))
        lr_l = lr / 4  # linear regression: λ_max ≈ 3
        rels, _, _, row = _run(lin, lsde.SGD(lr_l, b), lin.minimizer(), lin.minimizer(), config,
                               rng=3, matrix_shape=(1, 3))
        rows["linreg"].append(row)
        z2["linreg"].append(_upper(rels["FDR2"]))
        scheme = lsde.SGD(lr_l, b)
        _, ens, obs, row = _run(vec, scheme, w_vec, w_vec, config, rng=4, matrix_shape=(2, 3))
        rows["vector"].append(row)
        han = fdr.linear_learning_relations(ens, obs, vec.loss(w_vec), burn_in=config["burn_in"])
        z2["vector"].append(_upper(han["matrix"]))
    net = DeepLinearNetwork.teacher_student([3, 3, 3, 2], 32, noise=0.5, rng=3)
    shares, shares_se = [], []
    for lr in config["dln_lrs"]:
        scheme = lsde.SGD(lr, 8)
        eq = lsde.simulate(net, scheme, net.init(rng=1), n_steps=2 * config["dln_steps"],
                           n_replicas=32, save_at=[0], rng=5)
        start = eq.theta[-1]
        rels, ens, obs, row = _run(net, scheme, start, start.mean(axis=0), config, n_steps=config["dln_steps"],
                                   burn_in=0, every=40, n_replicas=32, rng=6, blocks=net.offsets)
        rows["dln"].append(row)
        # each layer's share of the fluctuation side (η/2)⟨‖∂_{W_l} L_B‖²⟩: 1/D by the deep identity
        s = obs.split(ens.observables["fdr"]["values"])["batch_grad_sq"]  # (n_obs, n_rep, D)
        per_rep = s.mean(axis=0) / s.mean(axis=0).sum(axis=-1, keepdims=True)
        shares.append(per_rep.mean(axis=0))
        shares_se.append(per_rep.std(axis=0, ddof=1) / np.sqrt(per_rep.shape[0]))
    out = {"lrs": np.array(config["lrs"]), "dln_lrs": np.array(config["dln_lrs"]),
           "lin_lrs": np.array(config["lrs"]) / 4, "mom_lrs": np.minimum(np.array(config["lrs"]), 1.2),
           "quad_mom_g_predicted": np.array(mom_pred), "dln_shares": np.array(shares),
           "dln_shares_se": np.array(shares_se)}
    for k, rs in rows.items():
        for field in rs[0]:
            out[f"{k}_{field}"] = (np.array([r[field] for r in rs]) if field != "holds"
                                   else [bool(r[field]) for r in rs])
        if "z" in rs[0]:
            zs = np.array([r["z"] for r in rs])
            out[f"{k}_combined_z"] = float(zs.sum() / np.sqrt(zs.size))
    for k, z in z2.items():
        out[f"{k}_matrix_z"] = np.array(z)  # (n_lrs, n_upper)
    return out


SERIES = {"quad": ("quadratic", "lrs"), "quad_mom_v": ("quadratic, μ = 0.5 (v form)", "mom_lrs"),
          "linreg": ("linear regression", "lin_lrs"), "vector": ("linear net, W 2×3", "lin_lrs"),
          "dln": ("deep linear, 3 layers", "dln_lrs")}


def plot(data, path):
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.6))
    axes = axes.ravel()
    ax = axes[0]
    for k, (key, (lab, xs)) in enumerate(SERIES.items()):
        x = np.asarray(data[xs]) * 1.04 ** (k - 2)  # small offsets so the bars do not overlap
        ax.errorbar(x, np.asarray(data[f"{key}_ratio"]) - 1, data[f"{key}_ratio_se"], fmt=MARKERS[k],
                    color=CYCLE[k], ls="none", label=f"{lab} (z = {data[f'{key}_combined_z']:+.1f})")
        if f"{key}_drift_ratio" in data:
            ax.errorbar(x * 1.02, np.asarray(data[f"{key}_drift_ratio"]) - 1, data[f"{key}_drift_ratio_se"],
                        fmt=MARKERS[k], color=CYCLE[k], mfc="white", ls="none", alpha=0.8)
    ax.axhline(0, color="k", lw=0.8)
    ax.errorbar([], [], [], fmt="o", color="0.4", mfc="white", label="with the drift correction")
    ax.set(xscale="log", xlabel="learning rate η", ylabel=f"FDR1 ratio − 1 ({SE})",
           title="FDR1, exact forms", ylim=(-0.045, 0.045))
    log_ticks(ax, "x", [0.0125, 0.05, 0.2, 0.8])
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
              columnspacing=0.8, handletextpad=0.3)
    ax = axes[1]
    ax.errorbar(data["mom_lrs"], data["quad_mom_v_ratio"], data["quad_mom_v_ratio_se"], fmt="s",
                color=CYCLE[1], label="(1+μ)/(2η)⟨‖v‖²⟩ (exact)")
    ax.errorbar(data["mom_lrs"], data["quad_mom_g_ratio"], data["quad_mom_g_ratio_se"], fmt="D",
                color=CYCLE[3], label="η⟨‖g_B‖²⟩/(2(1−μ)) (leading order)")
    ax.plot(data["mom_lrs"], data["quad_mom_g_predicted"], "k--", lw=1,
            label="discrete Lyapunov prediction")
    ax.axhline(1, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="learning rate η", ylabel="dissipation / fluctuation",
           title="heavy ball, μ = 0.5 (quadratic)")
    log_ticks(ax, "x", data["mom_lrs"])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))
    ax = axes[2]
    ax.axhspan(-1, 1, color="0.88", lw=0)
    offset = 0
    ticks, names = [], []
    for k, (key, lab) in enumerate((("quad", "FDR2\nquadratic"), ("linreg", "FDR2\nlin. reg."),
                                    ("vector", "Han matrix\nW 2×3"))):
        z = np.asarray(data[f"{key}_matrix_z"])  # (n_lrs, n_elements)
        n_el = z.shape[1]
        for i in range(z.shape[0]):
            ax.plot(offset + np.arange(n_el) + 0.12 * (i - z.shape[0] / 2), z[i], MARKERS[k],
                    color=CYCLE[k], ms=3, ls="none")
        ticks.append(offset + (n_el - 1) / 2)
        ax.text(offset + (n_el - 1) / 2, 3.6, f"⟨z²⟩ = {np.mean(z**2):.2f}", ha="center", va="top")
        names.append(lab)
        offset += n_el + 1
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(ticks, names)
    ax.set(ylabel="(lhs − rhs) / s.e., per element", title="matrix forms, every η", ylim=(-4, 4))
    ax = axes[3]
    sh, se = np.asarray(data["dln_shares"]), np.asarray(data["dln_shares_se"])
    for l in range(sh.shape[1]):
        ax.errorbar(np.asarray(data["dln_lrs"]) * 1.04 ** (l - 1), sh[:, l], se[:, l], fmt=MARKERS[l],
                    color=CYCLE[l], label=f"layer {l + 1}")
    ax.axhline(1 / sh.shape[1], color="k", ls="--", lw=1, label="1/D")
    ax.set(xscale="log", xlabel="learning rate η", ylabel=r"share of $(\eta/2)\langle\|g_B\|^2\rangle$",
           title="deep linear net: per-layer shares", ylim=(0.326, 0.34))
    log_ticks(ax, "x", data["dln_lrs"])
    ax.legend(loc="upper right", ncol=2)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.3f}"))
    letter(axes)
    save(fig, path)
