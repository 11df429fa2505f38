"""SGD on the digits (64→32→10 tanh, cross-entropy, all 1,438 images): decaying η by 2× per
stage and growing b by 2× per stage at fixed η keep the same noise scale g = η(N/b − 1) and give
the same training curve per epoch, with fewer updates (Smith, Kindermans, Ying & Le, 2018);
controls: a constant schedule, and the largest batch from the start (fewer updates at equal
epochs: a higher training and test loss)."""
import numpy as np

import landscape_sde as lsde
from analysis.noise_scale import batch_growth_schedule, run_schedule
from figures._digits import digits_model, one_blas_thread
from figures._style import plt, save

CONFIG = dict(n_train=None, width=32, activation="tanh", loss="cross_entropy", init_seed=0,
              lrs=[0.4, 0.2, 0.1], batch_size=16, epochs_per_stage=5, n_replicas=8, seed=1)
QUICK = {**CONFIG, "n_train": 200, "width": 8, "epochs_per_stage": 1, "n_replicas": 2}
NAMES = ("η decay", "b growth", "constant η, b", "large b throughout")


def schedules(config, n_samples):
    """The four schedules as ``run_schedule`` stages (``(SGD, n_epochs)`` lists)."""
    lrs, b0, ep = config["lrs"], config["batch_size"], config["epochs_per_stage"]
    bs = batch_growth_schedule(lrs, b0, n_samples)
    return {NAMES[0]: [(lsde.SGD(lr, b0), ep) for lr in lrs],
            NAMES[1]: [(lsde.SGD(lrs[0], b), ep) for b in bs],
            NAMES[2]: [(lsde.SGD(lrs[0], b0), ep) for _ in lrs],
            NAMES[3]: [(lsde.SGD(lrs[0], bs[-1]), ep) for _ in lrs]}


def compute(config):
    out = {"runs": []}
    with one_blas_thread():
        model = digits_model(config)
        theta0 = model.init(rng=config["init_seed"])
        for k, (name, stages) in enumerate(schedules(config, model.n_samples).items()):
            s = run_schedule(model, stages, theta0, n_replicas=config["n_replicas"], rng=config["seed"])
            out[f"epochs_{k}"], out[f"updates_{k}"], out[f"loss_{k}"] = s.epochs, s.updates, s.loss
            acc = np.array([model.test_accuracy(t) for t in s.theta[-1]])
            test = np.array([model.test_loss(t) for t in s.theta[-1]])
            se = lambda a: float(a.std(ddof=1) / np.sqrt(a.size))  # noqa: E731
            out["runs"].append({
                "name": name, "stages": [[sch.lr, sch.batch_size, n] for sch, n in stages],
                "noise_scales": s.noise_scales, "n_updates": s.n_updates,
                "n_diverged": int(s.diverged.sum()),
                "final_train_loss": [float(s.loss[-1].mean()), se(s.loss[-1])],
                "test_loss": [float(test.mean()), se(test)],
                "test_accuracy": [float(acc.mean()), se(acc)]})
    return out


def plot(data, path):
    c = data["config"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = [dict(lw=2.2), dict(lw=1.2, ls="--"), dict(lw=1, color="gray"), dict(lw=1, color="black", ls=":")]
    for k, run in enumerate(data["runs"]):
        L = data[f"loss_{k}"]
        mean, se = L.mean(axis=1), L.std(axis=1, ddof=1) / np.sqrt(L.shape[1])
        lab = (f"{run['name']}: {run['n_updates']} updates, test acc. "
               f"{run['test_accuracy'][0]:.3f} ± {run['test_accuracy'][1]:.3f}")
        for ax, x in zip(axes, (data[f"epochs_{k}"], data[f"updates_{k}"])):
            line, = ax.semilogy(x, mean, label=lab, **styles[k])
            ax.fill_between(x, mean - se, mean + se, color=line.get_color(), alpha=0.2, lw=0)
    axes[0].set(xlabel="epoch", ylabel="training loss", title="per epoch: η decay and b growth coincide")
    axes[1].set(xlabel="SGD updates", ylabel="training loss", title="per update: b growth needs fewer")
    axes[0].legend(fontsize=7)
    g = ", ".join(f"{x:.3g}" for x in data["runs"][0]["noise_scales"])
    fig.suptitle(f"Digits, 64→{c['width']}→10 tanh, cross-entropy; stages of {c['epochs_per_stage']} "
                 f"epochs, g = η(N/b − 1) = {g}; mean ± 1 s.e. over {c['n_replicas']} runs", fontsize=9)
    fig.tight_layout()
    save(fig, path)
