"""Yaida's adaptive schedule: drop η whenever the measured FDR1 holds within a tolerance, against
constant η and a fixed step schedule with the same number of drops.

Every schedule is measured the same way: consecutive windows whose length grows as ``1/η``
(``window_epochs · η₀/η`` epochs, so that a window spans the same number of relaxation times
``∝ 1/(ηλ)`` at every η), FDR1 measured in each window with the origin at the replica-mean θ at
the window's start, and its standard error from the replicas alone (one block per replica:
independent, whatever the autocorrelation time). The adaptive schedule divides η by ``drop``
after a window with ``|ratio − 1| < tol``; the step schedule divides it at fixed epochs
(``step_epochs``); the constant one never. Each schedule runs ``n_seeds`` independent SGD seeds
of ``n_replicas`` replicas from one initialisation; losses are means over all replicas, ±1 s.e.
"""
import numpy as np

import landscape_sde as lsde
from analysis import fdr
from figures._style import CYCLE, DASHES, MARKERS, SE, letter, log_ticks, plt, save
from landscape_sde.rng import as_seed_sequence
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(widths=[4, 4, 4, 4], n_samples=256, n_test=2048, noise=1.0, lr=0.08, batch_size=8,
              drop=2.0, tol=0.1, window_epochs=4, n_epochs=128, step_epochs=[16, 32, 48, 64],
              every=4, n_replicas=16, n_seeds=3)
QUICK = {**CONFIG, "n_epochs": 6, "window_epochs": 1, "step_epochs": [2, 4], "every": 2,
         "n_replicas": 4, "n_seeds": 1, "n_test": 256}
SCHEDULES = ("adaptive", "step", "constant")


def run_schedule(net, theta, config, rng, kind):
    """One run of a schedule (``"adaptive"``, ``"step"`` or ``"constant"``); per-window rows
    ``[end epoch, η, ratio, ratio_se, train, test, test_se]`` and the final per-replica test losses."""
    lr0 = lr = config["lr"]
    steps_per_epoch = net.n_samples // config["batch_size"]
    seeds = iter(as_seed_sequence(rng).spawn(10_000))
    steps = list(config["step_epochs"])
    epoch, rows = 0, []
    while epoch < config["n_epochs"]:
        n_epochs = min(int(round(config["window_epochs"] * lr0 / lr)), config["n_epochs"] - epoch)
        scheme = lsde.SGD(lr, config["batch_size"])
        rel, ens, _ = fdr.measure_fdr(net, scheme, theta, n_steps=n_epochs * steps_per_epoch,
                                      n_replicas=config["n_replicas"], every=config["every"], burn_in=0,
                                      rng=next(seeds), origin=theta.mean(axis=0),
                                      n_batches=1)  # one block per replica: the replicas' spread
        theta = np.ascontiguousarray(ens.theta[-1])
        epoch += n_epochs
        r = rel["FDR1"]
        test = np.array([net.test_loss(t) for t in theta])
        rows.append([epoch, lr, r.ratio, r.ratio_se, np.mean(ens.loss[-1]), test.mean(),
                     test.std(ddof=1) / np.sqrt(test.size)])
        if kind == "adaptive" and abs(r.ratio - 1) < config["tol"]:
            lr /= config["drop"]
        elif kind == "step" and steps and epoch >= steps[0]:
            steps.pop(0)
            lr /= config["drop"]
    return np.array(rows), test


def compute(config):
    net = DeepLinearNetwork.teacher_student(config["widths"], config["n_samples"], noise=config["noise"],
                                            n_test=config["n_test"], rng=0)
    th0 = np.tile(net.init(rng=1), (config["n_replicas"], 1))
    out = {"noise_floor": config["noise"] ** 2 * config["widths"][-1] / 2, "final": {}}
    keys = ["epoch", "lr", "ratio", "ratio_se", "train", "test", "test_se"]
    for kind in SCHEDULES:
        finals = []
        for s in range(config["n_seeds"]):
            rows, test = run_schedule(net, th0, config, rng=np.random.SeedSequence([0, s]), kind=kind)
            for i, key in enumerate(keys):
                out[f"{kind}_{key}_{s}"] = rows[:, i]
            finals.append(test)
        finals = np.concatenate(finals)
        # FDR1's calibration at fixed η: χ² of the late windows' ratios about 1 (the windows at
        # the final η, after the first, where the process should be stationary)
        z = []
        for s in range(config["n_seeds"]):
            lr, ratio, se = (out[f"{kind}_{k}_{s}"] for k in ("lr", "ratio", "ratio_se"))
            late = np.nonzero(lr == lr[-1])[0][1:]
            z.extend((ratio[late] - 1) / se[late])
        z = np.array(z)
        out["final"][kind] = {"test": float(finals.mean()),
                              "test_se": float(finals.std(ddof=1) / np.sqrt(finals.size)),
                              "n_drops": [int(np.sum(np.diff(out[f"{kind}_lr_{s}"]) < 0))
                                          for s in range(config["n_seeds"])],
                              "late_chi2_dof": float(np.mean(z**2)) if z.size else None,
                              "late_windows": int(z.size)}
    return out


def plot(data, path):
    c = data["config"]
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.8))
    for k, kind in enumerate(SCHEDULES):
        for s in range(c["n_seeds"]):
            ep = data[f"{kind}_epoch_{s}"]
            x = ep + 0.6 * (k - 1)  # small offsets so the bars do not overlap
            lab = kind if s == 0 else None
            axes[0].errorbar(x, data[f"{kind}_ratio_{s}"], data[f"{kind}_ratio_se_{s}"], fmt=MARKERS[k],
                             color=CYCLE[k], ms=2.5, lw=0.8, ls="none", label=lab)
            axes[1].step(ep, data[f"{kind}_lr_{s}"], where="pre", color=CYCLE[k], ls=DASHES[k], lw=1.2,
                         label=lab, alpha=1 if s == 0 else 0.5)
            axes[2].errorbar(ep, data[f"{kind}_test_{s}"], data[f"{kind}_test_se_{s}"], fmt=MARKERS[k] + "-",
                             color=CYCLE[k], ms=2.5, lw=0.8, alpha=1 if s == 0 else 0.5, label=lab)
    tol = c["tol"]
    axes[0].axhspan(1 - tol, 1 + tol, color="0.85", lw=0, label=f"|ratio − 1| < {tol:g}")
    lo = min(np.min(data[f"{k}_ratio_{s}"] - data[f"{k}_ratio_se_{s}"]) for k in SCHEDULES
             for s in range(c["n_seeds"]))
    hi = max(np.max(data[f"{k}_ratio_{s}"] + data[f"{k}_ratio_se_{s}"]) for k in SCHEDULES
             for s in range(c["n_seeds"]))
    axes[0].set(xlabel="epoch", ylabel=f"FDR1 ratio per window ({SE})", title="FDR1 ratio",
                ylim=(min(0, lo) - 0.05, hi + 0.05))
    axes[0].legend(loc="lower right", fontsize=6.5)
    axes[1].set(xlabel="epoch", ylabel="learning rate η", yscale="log", title="schedules")
    log_ticks(axes[1], "y", [c["lr"] / c["drop"] ** k for k in range(6)])
    axes[1].legend(loc="lower left", fontsize=6.5)
    axes[2].axhline(data["noise_floor"], color="k", ls=":", lw=1, label="noise floor")
    axes[2].set(xlabel="epoch", ylabel=f"test loss ({SE})", title="test loss per window",
                ylim=(data["noise_floor"] - 0.01, data["noise_floor"] + 0.09))
    axes[2].legend(loc="upper right", fontsize=6.5)
    letter(axes)
    save(fig, path)
