"""GD on scikit-learn's digits with a 64→32→10 tanh network: progressive sharpening, then the
sharpness at 2/η while the loss keeps falling (Cohen et al., ICLR 2021), with the MSE loss
(500 training images) and with cross-entropy (all 1,438, 30% of labels randomised so that
fitting takes long enough to see it)."""
import numpy as np

import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._digits import digits_model, one_blas_thread
from figures._style import plt, save

SETTINGS = {
    "mse": dict(n_train=500, width=32, activation="tanh", loss="mse", init_seed=0,
                lrs=[0.1, 0.2, 0.3], n_steps=8000, observe_every=100),
    "cross_entropy": dict(n_train=None, width=32, activation="tanh", loss="cross_entropy",
                          label_noise=0.3, noise_seed=0, init_seed=0, lrs=[1.0, 2.0],
                          n_steps=2000, observe_every=25),
}
CONFIG = dict(settings=SETTINGS)
QUICK = dict(settings={k: {**v, "n_train": 200, "width": 8, "lrs": v["lrs"][-1:], "n_steps": 200,
                           "observe_every": 50} for k, v in SETTINGS.items()})


def compute(config):
    out = {"settings": {}}
    with one_blas_thread():
        for name, s in config["settings"].items():
            model = digits_model(s)
            theta0 = model.init(rng=s["init_seed"])
            observe = {"S": (s["observe_every"],
                             lambda th: [sharpness(model, t, tol=1e-6).sharpness for t in th])}
            runs = []
            for k, lr in enumerate(s["lrs"]):
                ens = lsde.simulate(model, lsde.GD(lr), theta0, n_steps=s["n_steps"],
                                    save_every=s["observe_every"], observe=observe)
                out[f"{name}_t_{k}"], out[f"{name}_loss_{k}"] = ens.t, ens.loss[:, 0]
                out[f"{name}_sharpness_{k}"] = ens.observables["S"]["values"][:, 0]
                late = out[f"{name}_sharpness_{k}"] * lr / 2
                runs.append({"lr": lr, "max_sharpness_x_lr_over_2": float(late.max()),
                             "final_loss": float(ens.loss[-1, 0]),
                             "train_accuracy": model.accuracy(ens.theta[-1, 0]),
                             "test_accuracy": model.test_accuracy(ens.theta[-1, 0]),
                             "diverged": bool(ens.diverged.any())})
            out["settings"][name] = {"initial_sharpness": sharpness(model, theta0).sharpness,
                                     "n_train": model.n_samples, "dim": model.dim, "runs": runs}
    return out


def plot(data, path):
    names = list(data["settings"])
    fig, axes = plt.subplots(len(names), 2, figsize=(10, 3.4 * len(names)), squeeze=False)
    titles = {"mse": "MSE", "cross_entropy": "cross-entropy"}
    for row, name in zip(axes, names):
        info, cfg = data["settings"][name], data["config"]["settings"][name]
        for k, run in enumerate(info["runs"]):
            t = data[f"{name}_t_{k}"]
            line, = row[0].plot(t, data[f"{name}_sharpness_{k}"] * run["lr"] / 2, lw=1.4,
                                label=f"η = {run['lr']:g} (2/η = {2 / run['lr']:.3g})")
            row[1].semilogy(t, data[f"{name}_loss_{k}"], color=line.get_color(), lw=1,
                            label=f"η = {run['lr']:g}: test acc. {run['test_accuracy']:.3f}")
        noise = f", {cfg['label_noise']:.0%} labels randomised" if cfg.get("label_noise") else ""
        row[0].axhline(1.0, color="gray", ls=":", lw=1.2)
        row[0].set(xlabel="GD step", ylabel="η S / 2  (S = λ_max(∇²L); dotted: S = 2/η)",
                   title=f"{titles.get(name, name)}: N = {info['n_train']}{noise}; "
                         f"S₀ = {info['initial_sharpness']:.2f}")
        row[0].legend(fontsize=7)
        row[1].set(xlabel="GD step", ylabel="training loss", title="training loss (one run each)")
        row[1].legend(fontsize=7)
    fig.suptitle(f"Full-batch GD on the digits, 64→{data['config']['settings'][names[0]]['width']}"
                 "→10 tanh network, one run per η (exact HVPs, Lanczos). MSE: S rises to 2/η and "
                 "stays there while the loss falls;\ncross-entropy: S rises past 2/η at η = 2 and "
                 "oscillates above it, then falls as the loss goes to 0", fontsize=9)
    fig.tight_layout()
    fig.subplots_adjust(top=0.9)
    save(fig, path)
