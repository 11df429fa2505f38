"""Shared compute/plot of the stationary-distribution figures: SGD, the SME and Langevin
dynamics on one model, each against its exact stationary covariance."""
import numpy as np

import landscape_sde as lsde
from analysis import stationary as st
from figures._style import COLORS, ellipse, plt, save


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
    return f"Langevin  T = {scheme.temperature:.3g}, dt = {scheme.dt:g}"


def plot(data, path, title):
    names = list(data["schemes"])
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(13, 3.6),
                             gridspec_kw={"width_ratios": [1] * len(names) + [1.1]})
    all_pts = np.concatenate([data[f"samples_{n}"] for n in names])
    lo, hi = np.percentile(all_pts, [0.2, 99.8], axis=0)
    pad = 0.15 * (hi - lo)
    for ax, name in zip(axes, names):
        s = data["schemes"][name]
        pts = data[f"samples_{name}"]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.25, color=COLORS[name], lw=0)
        ellipse(ax, s["theory_mean"], s["theory_cov"], color="k", lw=2.4, alpha=0.45,
                label="exact theory (1σ, 2σ)")
        ellipse(ax, s["mean"], s["cov"], color=COLORS[name], lw=1.1, ls="--",
                label="simulation")
        extra = data.get("extra_theory")
        if extra and name == "SGD":
            ellipse(ax, s["theory_mean"], extra["cov"], color="darkorange", lw=1.2, ls=":",
                    label=extra["label"])
        ax.set(xlim=(lo[0] - pad[0], hi[0] + pad[0]), ylim=(lo[1] - pad[1], hi[1] + pad[1]),
               xlabel=r"$\theta_1$", ylabel=r"$\theta_2$", title=s["label"])
        ax.set_aspect("equal", adjustable="box")
        ax.legend(loc="upper right", fontsize=7)
    ax = axes[-1]
    width = 0.25
    for k, name in enumerate(names):
        s = data["schemes"][name]
        sim = np.diag(s["cov"])
        th = np.diag(s["theory_cov"])
        pos = np.arange(len(sim)) + (k - 1) * width
        ax.bar(pos, sim / th, width, yerr=2 * np.diag(s["cov_se"]) / th, capsize=3,
               color=COLORS[name], label=f"{name} (kurtosis {max(s['kurtosis']):.0f})")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(xticks=range(len(sim)), xticklabels=[fr"Var $\theta_{i + 1}$" for i in range(len(sim))],
           ylabel="simulated / theory  (±2 s.e.)", title="variances against theory",
           ylim=(0.85, 1.15))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(title + "\nLangevin at the temperature that gives SGD's mean excess loss",
                 fontsize=10, y=1.06)
    save(fig, path)
