"""Label noise drifts SGD along the valley of minima towards its flattest point, at the rate the SymPy derivation gives; mini-batch noise on interpolating data does not move it.

(a) Product network ``f = w₁w₂x`` on interpolating data (``y = x``, valley ``w₁w₂ = 1``):
paths of full-batch label-noise SGD (``η = 0.05``, ``N = 8``, ``σ`` matched as in (b)) from
``(2, 0.5)``
slide along the hyperbola towards ``w₁ = w₂ = 1``, where ``tr ∇²L`` is smallest; the ensemble
mean balance mapped onto the hyperbola (circles) follows the theory (line of crosses).
Mini-batch SGD (``b = 2``) from the same point stays: its noise vanishes on the valley.
(b) The balance ``D = w₁² − w₂²`` (ensemble mean ``± 1 s.e.``, 400 replicas) against the
derived decay ``D_{k+1} = D_k (1 − (η²σ²m/N)·2/(2 − ηλ_k))`` (dashed black), the
leading-order rate without the ``2/(2 − ηλ)`` factor (dotted), and, at matched noise size
(the same inputs with fixed noisy labels ``y = x + 0.5ε``, ``b = 2``, and ``σ`` chosen so that
``σ²m/N = c_b Var_n e_n``), mini-batch SGD: its on-valley covariance is also proportional to
the Hessian of this model, so it drifts the same way, slightly faster because its variance
grows off the valley (dashed: :func:`analysis.label_noise.predicted_balance_minibatch`). (c) Two-layer diagonal network ``f = u₁v₁x₁ + u₂v₂x₂`` with
``(1/N) XᵀX = diag(1, 4)``, label noise ``σ = 1``, ``η = 0.02``: each balance ``D_j`` decays
at its own rate ``∝ m_j``, as derived (dashed); the drift is ``−(ησ²/4N) ∇_Γ tr ∇²L`` per unit time ``t = kη``.
"""
import numpy as np

import landscape_sde as lsde
from analysis.label_noise import predicted_balance, predicted_balance_minibatch
from figures._style import CYCLE, SE, band, letter, mean_se, plt, save
from landscape_sde.noise import batch_noise_factor
from models import DiagonalLinearNetwork, ProductNetwork

CONFIG = dict(n_samples=8, lr=0.05, sigma=1.0, w0=[2.0, 0.5], n_steps=6000, n_saved=60,
              n_replicas=400, n_paths=3, batch_size=2, noisy_label=0.5, seed=1,
              diag_lr=0.02, diag_scales=[1.0, 2.0], diag_beta=[1.0, 0.5], diag_u0=[2.0, 1.0])
QUICK = {**CONFIG, "n_steps": 600, "n_saved": 12, "n_replicas": 40}


def _on_valley(D, c):
    """The point of ``w₁w₂ = c`` (w > 0) with balance ``w₁² − w₂² = D``."""
    w1 = np.sqrt((D + np.sqrt(D**2 + 4 * c**2)) / 2)
    return w1, c / w1


def compute(config):
    n, N, lr, sigma = config["n_steps"], config["n_samples"], config["lr"], config["sigma"]
    save_at = np.unique(np.linspace(0, n, config["n_saved"] + 1).astype(int))
    net = ProductNetwork(n_samples=N, label_noise=0.0, rng=0)
    m = float(np.mean(net.x**2))
    w0 = np.array(config["w0"])
    D0 = float(w0[0] ** 2 - w0[1] ** 2)
    R = config["n_replicas"]
    out = {"save_at": save_at, "m": m, "D0": D0, "w0": w0}
    b = config["batch_size"]
    # matched size: fixed noisy labels, mini-batch noise c_b Var_n(e_n) on the valley
    noisy = ProductNetwork(n_samples=N, label_noise=config["noisy_label"], rng=0)
    c = noisy.product
    w0n = noisy.valley_point(_on_valley(D0, c)[0])
    e = (c * noisy.x - noisy.y) * noisy.x
    c_b = batch_noise_factor(N, b)
    mn = float(np.mean(noisy.x**2))
    sigma_matched = float(np.sqrt(N * c_b * np.var(e) / mn))  # σ²m/N = c_b Var e
    ens_n = lsde.simulate(noisy, lsde.SGD(lr, b), w0n, n_steps=n, n_replicas=R, save_at=save_at,
                          rng=config["seed"] + 2)
    Dn = ens_n.theta[..., 0] ** 2 - ens_n.theta[..., 1] ** 2
    out["minibatch_D"], out["minibatch_D_se"], _ = mean_se(Dn, axis=1)
    out["minibatch_theory_D"] = predicted_balance_minibatch(Dn[0, 0], noisy.x, noisy.y, lr, b, n)[save_at]
    out["minibatch_max_z"] = float(np.max(np.abs((out["minibatch_D"][1:] - out["minibatch_theory_D"][1:])
                                                 / out["minibatch_D_se"][1:])))
    out["sigma_matched"] = sigma_matched
    sigma_diag, sigma = sigma, sigma_matched  # label noise at the mini-batch noise size
    ens = lsde.simulate(net, lsde.LabelNoiseSGD(lr, sigma), w0, n_steps=n, n_replicas=R,
                        save_at=save_at, rng=config["seed"])
    D = ens.theta[..., 0] ** 2 - ens.theta[..., 1] ** 2
    out["label_D"], out["label_D_se"], _ = mean_se(D, axis=1)
    out["label_paths"] = ens.theta[:, :config["n_paths"]]
    theory = predicted_balance(D0, 1.0, m, lr, sigma, N, n)[save_at, 0]
    out["theory_D"] = theory
    out["leading_D"] = predicted_balance(D0, 1.0, m, lr, sigma, N, n, corrected=False)[save_at, 0]
    z = (out["label_D"][1:] - theory[1:]) / out["label_D_se"][1:]
    out["label_max_z"] = float(np.max(np.abs(z)))
    zl = (out["label_D"][-1] - out["leading_D"][-1]) / out["label_D_se"][-1]
    out["leading_z_final"] = float(zl)
    sgd = lsde.simulate(net, lsde.SGD(lr, b), w0, n_steps=n, n_replicas=config["n_paths"],
                        save_at=save_at, rng=config["seed"] + 1)
    out["sgd_paths"] = sgd.theta
    out["sgd_D_max_change"] = float(np.max(np.abs(sgd.theta[..., 0] ** 2 - sgd.theta[..., 1] ** 2 - D0)))
    # diagonal linear network, orthogonal design
    scales, beta = np.array(config["diag_scales"]), np.array(config["diag_beta"])
    dn = DiagonalLinearNetwork.orthogonal_design(scales, beta, n_samples=N, rng=0)
    u0 = np.array(config["diag_u0"])
    v0 = beta / u0
    ens_d = lsde.simulate(dn, lsde.LabelNoiseSGD(config["diag_lr"], sigma_diag), np.r_[u0, v0],
                          n_steps=n, n_replicas=R, save_at=save_at, rng=config["seed"] + 3)
    u, v = dn.split(ens_d.theta)
    Dd = u**2 - v**2
    out["diag_D"], out["diag_D_se"], _ = mean_se(Dd, axis=1)
    out["diag_theory_D"] = predicted_balance(u0**2 - v0**2, beta, scales**2, config["diag_lr"],
                                             sigma_diag, N, n)[save_at]
    out["diag_max_z"] = float(np.max(np.abs((out["diag_D"][1:] - out["diag_theory_D"][1:])
                                            / out["diag_D_se"][1:])))
    out["diag_m"] = scales**2
    out["final_label_D"] = float(out["label_D"][-1])
    out["final_label_D_se"] = float(out["label_D_se"][-1])
    out["final_theory_D"] = float(theory[-1])
    out["final_leading_D"] = float(out["leading_D"][-1])
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.6))
    t = np.asarray(data["save_at"])
    ax = axes[0]
    w1 = np.linspace(0.6, 2.3, 200)
    ax.plot(w1, 1 / w1, color="0.6", lw=1, label="minima $w_1w_2=1$")
    paths = np.asarray(data["label_paths"])
    for r in range(paths.shape[1]):
        ax.plot(paths[:, r, 0], paths[:, r, 1], lw=0.5, color=CYCLE[0], alpha=0.6,
                label="label noise" if r == 0 else None)
    ax.plot(*_on_valley(np.asarray(data["theory_D"])[::6], 1.0), "kx", ms=6, label="theory")
    ax.plot(*_on_valley(np.asarray(data["label_D"])[::6], 1.0), "o", color=CYCLE[1], ms=3,
            label="ensemble mean")
    sp = np.asarray(data["sgd_paths"])
    ax.plot(sp[-1, :, 0], sp[-1, :, 1], "s", color=CYCLE[3], ms=6, mfc="none", label="mini-batch (stays)")
    ax.plot(*data["w0"], "k*", ms=7)
    ax.plot(1, 1, "D", color=CYCLE[2], ms=4, label="flattest")
    ax.set(xlabel="$w_1$", ylabel="$w_2$", title="product network paths", xlim=(0.6, 2.3), ylim=(0.3, 1.7))
    ax.legend(loc="upper right", fontsize=6.5)
    ax = axes[1]
    band(ax, t, data["label_D"], data["label_D_se"], color=CYCLE[0], lw=2.2, label="label noise")
    ax.plot(t, data["theory_D"], "k--", lw=0.7, label="theory", zorder=5)
    ax.plot(t, data["leading_D"], "k:", lw=1, label="leading order")
    band(ax, t, data["minibatch_D"], data["minibatch_D_se"], color=CYCLE[1], lw=2.2,
         label="mini-batch, matched size")
    ax.plot(t, data["minibatch_theory_D"], "k--", lw=0.7, zorder=5)
    ax.set(xlabel="step", ylabel=r"$\langle w_1^2 - w_2^2\rangle$", title=f"balance ({SE})")
    ax.legend(loc="upper right", fontsize=6.5)
    ax = axes[2]
    D, se, th = (np.asarray(data[k]) for k in ("diag_D", "diag_D_se", "diag_theory_D"))
    for j in range(D.shape[1]):
        band(ax, t, D[:, j] / D[0, j], se[:, j] / D[0, j], color=CYCLE[j + 2], lw=2.2,
             label=f"$D_{j + 1}$, $m_{j + 1}$ = {data['diag_m'][j]:g}")
        ax.plot(t, th[:, j] / th[0, j], "k--", lw=0.7, zorder=5, label="theory" if j == 0 else None)
    ax.set(xlabel="step", ylabel=r"$\langle D_j\rangle / D_j(0)$", title="diagonal network")
    ax.legend(loc="lower left", fontsize=6.5)
    letter(axes)
    save(fig, path)
