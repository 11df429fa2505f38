"""Configurational and kinetic temperature against the time step: BAOAB, the Euler-type
underdamped step and overdamped Euler-Maruyama / Leimkuhler-Matthews, with exact lines.

Points: ensembles (``n_replicas`` replicas in panels a and b, ``well_replicas`` time averages in
c), ±1 s.e. Lines: the exact discrete stationary values (Lyapunov equations of each linear
map). ``dt`` is the step of each scheme's own SDE: overdamped and underdamped time units
differ. m = 1.
"""
import numpy as np
import scipy.linalg

import landscape_sde as lsde
from figures._style import CYCLE, MARKERS, SE, letter, plt, save
from models import DoubleWell, Quadratic

CONFIG = dict(temperature=0.5, friction=1.0, curvature=1.0,
              dts=[0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.3, 1.6], n_replicas=20_000, t_relax=40.0,
              well_barrier=0.5, well_dts=[0.025, 0.05, 0.1, 0.2, 0.3], well_replicas=2000,
              well_time=300.0, seed=11)
QUICK = {**CONFIG, "dts": [0.2, 0.8, 1.6], "n_replicas": 2000, "well_dts": [0.05, 0.2],
         "well_replicas": 200, "well_time": 100.0}
SCHEMES = {"BAOAB": "#1f77b4", "UnderdampedEuler": "#d62728", "Langevin": "#2ca02c",
           "LeimkuhlerMatthews": "#9467bd"}
LABELS = {"BAOAB": "BAOAB", "UnderdampedEuler": "Euler, underdamped", "Langevin":
          "Euler-Maruyama, overdamped", "LeimkuhlerMatthews": "Leimkuhler-Matthews"}


def _scheme(name, dt, c):
    if name in ("BAOAB", "UnderdampedEuler"):
        return getattr(lsde, name)(dt, c["temperature"], c["friction"])
    return getattr(lsde, name)(dt, c["temperature"])


def _exact_harmonic(name, dt, c):
    """Stationary (h⟨θ²⟩/T, m⟨v²⟩/T) of the scheme's linear map on ½hθ² (discrete Lyapunov)."""
    h, g, T = c["curvature"], c["friction"], c["temperature"]
    if name == "Langevin":
        return 1.0 / (1.0 - h * dt / 2), np.nan
    if name == "LeimkuhlerMatthews":
        return 1.0, np.nan
    if name == "BAOAB":
        e = np.exp(-g * dt)
        B, A = np.array([[1, 0], [-0.5 * dt * h, 1]]), np.array([[1, 0.5 * dt], [0, 1]])
        M, q = B @ A @ np.diag([1, e]) @ A @ B, B @ A @ np.array([0, np.sqrt((1 - e * e) * T)])
    else:
        M, q = np.array([[1, dt], [-dt * h, 1 - g * dt]]), np.array([0, np.sqrt(2 * g * T * dt)])
    if np.abs(np.linalg.eigvals(M)).max() >= 1 - 1e-9:  # no stationary state
        return np.nan, np.nan
    S = scipy.linalg.solve_discrete_lyapunov(M, np.outer(q, q), method="direct")
    return h * S[0, 0] / T, S[1, 1] / T


def compute(config):
    c = config
    T, h = c["temperature"], c["curvature"]
    harmonic = Quadratic([[h]])
    out = {"config": c}
    fine = np.linspace(0.02, max(c["dts"]), 200)
    out["dt_fine"] = fine
    for name in SCHEMES:
        exact = np.array([_exact_harmonic(name, dt, c) for dt in fine])
        out[f"{name}_exact_conf"], out[f"{name}_exact_kin"] = exact[:, 0], exact[:, 1]
        conf, conf_se, kin, kin_se, used = [], [], [], [], []
        for dt in c["dts"]:
            if not np.isfinite(_exact_harmonic(name, dt, c)[0]):
                continue  # beyond the scheme's stability limit
            n = int(c["t_relax"] / dt) + 1
            under = name in ("BAOAB", "UnderdampedEuler")
            obs = {"v": (n, lambda th, v: v[:, 0], "velocity")} if under else None
            ens = lsde.simulate(harmonic, _scheme(name, dt, c), [0.0], n_steps=n,
                                n_replicas=c["n_replicas"], save_every=n, rng=c["seed"], observe=obs)
            x2 = h * ens.theta[-1, :, 0] ** 2 / T
            conf.append(x2.mean()), conf_se.append(x2.std() / np.sqrt(x2.size))
            v2 = ens.observables["v"]["values"][-1] ** 2 / T if under else np.full(1, np.nan)
            kin.append(v2.mean()), kin_se.append(v2.std() / np.sqrt(v2.size))
            used.append(dt)
        for key, val in (("dt", used), ("conf", conf), ("conf_se", conf_se), ("kin", kin),
                         ("kin_se", kin_se)):
            out[f"{name}_{key}"] = np.array(val)
    # anharmonic: ⟨x²⟩ on a double well against Boltzmann quadrature
    well = DoubleWell(dim=1, barrier=c["well_barrier"])
    x = np.linspace(-4, 4, 40_001)
    w = np.exp(-lsde.fields.losses(well, x[:, None]) / T)
    exact = float((x * x * w).sum() / w.sum())
    out["well_exact_x2"] = exact
    for name in SCHEMES:
        err, se = [], []
        for dt in c["well_dts"]:
            n = int(c["well_time"] / dt)
            every = max(1, int(1.0 / dt))
            ens = lsde.simulate(well, _scheme(name, dt, c), [1.0], n_steps=n,
                                n_replicas=c["well_replicas"], save_every=every, rng=c["seed"] + 1)
            keep = ens.t >= n // 4
            per = (ens.theta[keep, :, 0] ** 2).mean(axis=0) / exact - 1.0
            err.append(per.mean()), se.append(per.std() / np.sqrt(per.size))
        out[f"{name}_well_err"], out[f"{name}_well_se"] = np.array(err), np.array(se)
    out["well_dts"] = np.array(c["well_dts"])
    return out


def plot(data, path):
    c = data["config"]
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9))
    for k, (name, _) in enumerate(SCHEMES.items()):
        col = CYCLE[k]
        for ax, key in ((axes[0], "conf"), (axes[1], "kin")):
            if np.all(np.isnan(data[f"{name}_exact_{key}"])):
                continue
            ax.plot(data["dt_fine"], data[f"{name}_exact_{key}"], color=col, lw=1,
                    label=f"{LABELS[name]} (exact)")
            ax.errorbar(data[f"{name}_dt"], data[f"{name}_{key}"], yerr=data[f"{name}_{key}_se"],
                        fmt=MARKERS[k], ms=3.5, color=col, capsize=2)
        axes[2].errorbar(data["well_dts"], data[f"{name}_well_err"], yerr=data[f"{name}_well_se"],
                         fmt=MARKERS[k] + "-", ms=3.5, color=col, capsize=2, label=LABELS[name])
    axes[0].set(xlabel="time step dt", ylabel="h⟨θ²⟩ / T", ylim=(0.8, 2.0),
                title=f"harmonic well, h = {c['curvature']}")
    axes[1].set(xlabel="time step dt", ylabel="m⟨v²⟩ / T", ylim=(0.0, 1.6),
                title="kinetic temperature")
    axes[2].axhline(0, color="black", lw=0.8)
    axes[2].set(xscale="log", xlabel="time step dt (missing: unstable)",
                ylabel=f"relative bias of ⟨x²⟩ ({SE})",
                title=f"double well, barrier {c['well_barrier']}")
    axes[2].set_xticks(data["well_dts"], [f"{d:g}" for d in data["well_dts"]])
    axes[2].minorticks_off()
    for ax in axes[:2]:
        ax.axhline(1, color="gray", lw=0.6, ls=":")
    h, l = axes[2].get_legend_handles_labels()
    fig.legend(h, l, loc="outside lower center", ncol=4, fontsize=7)
    letter(axes)
    save(fig, path)
