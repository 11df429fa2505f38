"""Shared compute/plot of the stationary-distribution figures: SGD, the SME and Langevin
dynamics on one model, each against its exact stationary covariance."""
import numpy as np

import landscape_sde as lsde
from analysis import stationary as st
from figures._style import COLORS, DASHES, PALETTE, SE, ellipse, letter, log_ticks, plt, save


def compute(model, config, sgd_theory, extra_theory=None):
    """Simulate the three dynamics from the minimiser and collect samples and moments.

    ``sgd_theory(lr, b) -> (mean, cov)`` is the SGD prediction; the SME (Euler-Maruyama with
    ``dt = lr / substeps``) uses :func:`analysis.stationary.linear_sgd_moments`, and Langevin
    runs at the temperature ``T = tr(H S_SGD) / dim`` that gives it SGD's mean excess loss, with
    the exact Euler-Maruyama covariance as its prediction.
    """
    lr, b, sub = config["lr"], config["batch_size"], config["substeps"]
    mean, cov = sgd_theory(lr, b)
    H = model.hessian(mean)
    T = float(np.trace(H @ cov) / model.dim)
    dt = lr / sub
    runs = {
        "SGD": (lsde.SGD(lr, b), config["n_steps"], (mean, cov)),
        "SME": (lsde.SME(lr, b, dt=dt), config["n_steps"] * sub,
                st.linear_sgd_moments(model, lr, b, dt=dt)),
        "Langevin": (lsde.Langevin(dt, T), config["n_steps"] * sub,
                     (mean, st.euler_maruyama_covariance(H, T * np.eye(model.dim), dt))),
    }
    out = {"temperature": T, "schemes": {}}
    for k, (name, (scheme, n_steps, (m_th, c_th))) in enumerate(runs.items()):
        ens = lsde.simulate(model, scheme, mean, n_steps=n_steps, n_replicas=config["n_replicas"],
                            save_every=n_steps, rng=config["seed"] + k)
        x = ens.theta[-1]
        d = x - x.mean(axis=0)
        products = d[:, :, None] * d[:, None, :]
        out[f"samples_{name}"] = x[: config["n_scatter"]]
        out["schemes"][name] = {
            "label": label(name, scheme), "mean": x.mean(axis=0).tolist(),
            "cov": products.mean(axis=0).tolist(),
            # empirical standard error: multiplicative noise gives heavy tails
            "cov_se": (products.std(axis=0) / np.sqrt(len(x))).tolist(),
            "kurtosis": ((d ** 4).mean(axis=0) / (d ** 2).mean(axis=0) ** 2).tolist(),
            "theory_mean": np.asarray(m_th).tolist(),
            "theory_cov": np.asarray(c_th).tolist()}
    if extra_theory is not None:
        out["extra_theory"] = extra_theory
    return out


def label(name, scheme):
    """Short panel title for a scheme."""
    if name == "SGD":
        return f"SGD  η = {scheme.lr:g}, b = {scheme.batch_size}"
    if name == "SME":
        return f"SME  dt = η/{round(scheme.lr / scheme.dt)}"
    return f"Langevin  T = {scheme.temperature:.2g}"


def plot(data, path, title):
    """Scatter with exact ellipses per scheme (top); simulated/theory moments ±1 s.e. and the
    tails of |θ − θ̄| (bottom). ``title`` is accepted for the callers and not drawn (the claim
    lives in the README caption)."""
    names = list(data["schemes"])
    fig = plt.figure(figsize=(7.2, 5.6))
    gs = fig.add_gridspec(2, 6)
    axes = [fig.add_subplot(gs[0, 2 * k:2 * k + 2]) for k in range(len(names))]
    all_pts = np.concatenate([data[f"samples_{n}"] for n in names])
    lo, hi = np.percentile(all_pts, [0.2, 99.8], axis=0)
    pad = 0.15 * (hi - lo)
    extra = data.get("extra_theory")
    for ax, name in zip(axes, names):
        s = data["schemes"][name]
        pts = data[f"samples_{name}"]
        ax.scatter(pts[:, 0], pts[:, 1], s=1.5, alpha=0.25, color=COLORS[name], lw=0, rasterized=False)
        ellipse(ax, s["theory_mean"], s["theory_cov"], color="0.55", lw=2.6, label="exact theory (1σ, 2σ)")
        ellipse(ax, s["mean"], s["cov"], color="k", lw=0.9, ls="--", label="simulation")
        if extra and name == "SGD":
            ellipse(ax, s["theory_mean"], extra["cov"], color=PALETTE[7], lw=1.4, ls=":",
                    label=extra["label"])
        ax.set(xlim=(lo[0] - pad[0], hi[0] + pad[0]), ylim=(lo[1] - pad[1], hi[1] + pad[1]),
               xlabel=r"$\theta_1$", ylabel=r"$\theta_2$" if name == names[0] else None,
               title=s["label"].split(", dt =")[0])
        ax.set_aspect("equal", adjustable="box")
    handles, labels = axes[0].get_legend_handles_labels()
    ax, tail = fig.add_subplot(gs[1, :4]), fig.add_subplot(gs[1, 4:])
    width = 0.22
    groups = [r"Var $\theta_1$", r"Var $\theta_2$", r"Cov $\theta_1\theta_2$"]
    for k, name in enumerate(names):
        s = data["schemes"][name]
        cov, th, se = (np.asarray(s[key]) for key in ("cov", "theory_cov", "cov_se"))
        sim = np.array([cov[0, 0], cov[1, 1], cov[0, 1]])
        ref = np.array([th[0, 0], th[1, 1], th[0, 1]])
        err = np.array([se[0, 0], se[1, 1], se[0, 1]])
        pos = np.arange(3) + (k - 1) * width
        excess = ", ".join(f"{v - 3:+.1f}".replace("-0.0", "0.0").replace("+0.0", "0.0") for v in s["kurtosis"])
        ax.bar(pos, sim / ref, width, yerr=err / np.abs(ref), color=COLORS[name],
               label=f"{name} (excess kurtosis {excess})")
    if extra:
        s, ex = data["schemes"]["SGD"], np.asarray(extra["cov"])
        cov = np.asarray(s["cov"])
        ratio = np.array([cov[0, 0] / ex[0, 0], cov[1, 1] / ex[1, 1]])  # variances only
        ax.bar(np.arange(2) + 2 * width, ratio, width, color="white", edgecolor=COLORS["SGD"], hatch="////",
               label=f"SGD / {extra['label']}")
        for x, r in zip(np.arange(2) + 2 * width, ratio):
            ax.text(x, float(np.clip(r, 0.82, 1.25)), f"{r:.2f}", ha="center", va="bottom", fontsize=6.5,
                    bbox=dict(fc="white", ec="none", pad=0.5))
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(np.arange(3) + width / 2, groups)
    ax.set(ylabel=f"simulated / theory ({SE})", title="moments against theory", ylim=(0.8, 1.32))
    h2, l2 = ax.get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="outside lower center", ncol=3, fontsize=6.5)
    for k, name in enumerate(names):
        pts = data[f"samples_{name}"]
        r = np.sort(np.linalg.norm(pts - pts.mean(axis=0), axis=1))
        surv = 1 - np.arange(r.size) / r.size
        tail.loglog(r / np.sqrt(np.mean(r**2)), surv, color=COLORS[name], ls=DASHES[k], lw=1.2, label=name)
    tail.set(xlabel=r"$|\theta - \bar\theta|$ / rms", ylabel="P(larger)", title=f"tails ({len(r)} samples)",
             ylim=(1 / len(r), 1.1), xlim=(0.1, None))
    tail.legend(fontsize=6.5, loc="lower left")
    log_ticks(tail, "x")
    log_ticks(tail, "y", [1e-3, 1e-2, 0.1, 1])
    letter(axes + [ax, tail])
    save(fig, path)
