"""SGD's stationary state is out of equilibrium when H and the noise covariance do not commute:
stationary probability current of the SME and entropy production against η."""
import warnings

import numpy as np

import landscape_sde as lsde
from analysis import stationary as st
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from landscape_sde.noise import batch_noise_factor
from models import Quadratic

# The README's quadratic (H and C do not commute).
CONFIG = dict(hessian=[[1.0, 0.6], [0.6, 2.0]], noise_cov=[[1.0, -0.45], [-0.45, 0.3]],
              n_samples=8, batch_size=2, lr_field=0.3, shape=256, box_sd=5.0,
              lrs=[0.05, 0.1, 0.2, 0.3, 0.45, 0.6], lrs_solver=[0.1, 0.3, 0.6],
              n_replicas=400_000, n_groups=20, seed=3)
QUICK = {**CONFIG, "shape": 64, "lrs_solver": [0.3], "n_replicas": 20_000, "lrs": [0.3]}


def _fp(model, lr, b, config):
    C_b = batch_noise_factor(model.n_samples, b) * model.noise_cov
    w = np.sqrt(np.diag(st.continuous_lyapunov(model.hessian_matrix, lr / 2 * C_b)))
    grid = Grid(-config["box_sd"] * w, config["box_sd"] * w, (config["shape"],) * 2)
    return FokkerPlanck.from_model(model, lsde.SME(lr, b), grid), grid


def compute(config):
    model = Quadratic(config["hessian"], config["noise_cov"], n_samples=config["n_samples"])
    H, b = model.hessian_matrix, config["batch_size"]
    C_b = batch_noise_factor(model.n_samples, b) * model.noise_cov
    out = {}
    with warnings.catch_warnings():  # correlation 0.82: the cross stencil has a few negatives
        warnings.simplefilter("ignore", RuntimeWarning)
        fp, grid = _fp(model, config["lr_field"], b, config)
        p = fp.stationary()
        out.update(axes_x=grid.axes()[0], axes_y=grid.axes()[1], density=p, current=fp.current(p))
        out["sigma_solver"] = np.array([_fp(model, lr, b, config)[0].entropy_production()
                                        for lr in config["lrs_solver"]])
    lrs = np.geomspace(0.01, 0.8, 60)
    out["lr_curve"] = lrs
    out["sigma_sme"] = np.array([st.ou_entropy_production(H, lr / 2 * C_b) for lr in lrs])
    out["sigma_sgd"] = np.array([st.chain_entropy_production(
        S := st.discrete_lyapunov(H, C_b, lr), (np.eye(2) - lr * H) @ S, lr) for lr in lrs])
    # Ensemble estimate: n_replicas independent SGD chains run into stationarity (40/η steps,
    # λ_min(H) = 0.64), the pair (θ_{n−1}, θ_n) recorded, the sample moments plugged into the
    # Gaussian-chain formula; standard error by the jackknife over n_groups replica groups.
    def plug_in(x0, x1, lr):
        return st.chain_entropy_production(0.5 * (x0.T @ x0 + x1.T @ x1) / len(x0),
                                           x1.T @ x0 / len(x0), lr)

    est, err = [], []
    for k, lr in enumerate(config["lrs"]):
        n = int(40 / lr)
        ens = lsde.simulate(model, lsde.SGD(lr, b), np.zeros(2), n_steps=n,
                            n_replicas=config["n_replicas"], save_at=[n - 1, n],
                            rng=config["seed"] + k)
        x0, x1 = ens.theta[0], ens.theta[1]
        g = config["n_groups"]
        groups = np.array_split(np.arange(x0.shape[0]), g)
        loo = np.array([plug_in(np.delete(x0, i, 0), np.delete(x1, i, 0), lr) for i in groups])
        est.append(plug_in(x0, x1, lr))
        err.append(np.sqrt((g - 1) / g * np.sum((loo - loo.mean()) ** 2)))
    out["sigma_ensemble"], out["sigma_ensemble_se"] = np.array(est), np.array(err)
    out["sigma_isotropic"] = st.ou_entropy_production(H, 0.15 * np.trace(C_b) / 2 * np.eye(2))
    return out


def plot(data, path):
    import matplotlib.pyplot as plt

    from figures._style import COLORS, save
    c = data["config"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    X, Y = np.meshgrid(data["axes_x"], data["axes_y"], indexing="ij")
    p, J = data["density"], data["current"]
    a.contour(X, Y, p, levels=np.max(p) * np.exp(-0.5 * np.arange(4, 0, -1) ** 2), colors="0.6",
              linewidths=0.8)
    J = np.where((p > np.max(p) * np.exp(-0.5 * 4.5 ** 2))[..., None], J, np.nan)  # where p lives
    speed = np.hypot(J[..., 0], J[..., 1])
    strm = a.streamplot(data["axes_x"], data["axes_y"], J[..., 0].T, J[..., 1].T, color=speed.T,
                        cmap="viridis", density=1.1, linewidth=0.8)
    fig.colorbar(strm.lines, ax=a, label="|J| (probability / (area · time))")
    a.set(xlabel=r"$\theta_1$", ylabel=r"$\theta_2$", aspect="equal",
          title=f"SME stationary current J, η = {c['lr_field']}, b = {c['batch_size']}\n"
                "grey: density contours at 1-4 s.d.\nJ drawn within 4.5 s.d.")
    b.plot(data["lr_curve"], data["sigma_sme"], color=COLORS["SME"],
           label="SME, closed form tr(HD⁻¹HS) − tr H")
    b.plot(c["lrs_solver"], data["sigma_solver"], "o", color=COLORS["SME"], mfc="none",
           label="SME, Fokker-Planck solver")
    b.plot(data["lr_curve"], data["sigma_sgd"], color=COLORS["SGD"],
           label="SGD chain, exact (Gaussian KL per unit time)")
    b.errorbar(c["lrs"], data["sigma_ensemble"], yerr=data["sigma_ensemble_se"], fmt="s",
               ms=4, color=COLORS["SGD"], capsize=2,
               label=f"SGD ensemble, {c['n_replicas']:,} replicas (±1 s.e., jackknife)")
    b.axhline(0, color="k", lw=0.8, ls=":", label=f"isotropic noise (C ∝ I, commutes with H): σ = {data['sigma_isotropic']:.0f}")
    b.set(xscale="log", xlabel="learning rate η", ylabel="entropy production σ (per unit SDE time)",
          title="Entropy production of the stationary state")
    b.legend(fontsize=7, loc="upper left")
    save(fig, path)
