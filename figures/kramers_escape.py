"""Kramers escape over the barrier of a double well: the mean first-passage time of overdamped
Langevin dynamics against the exact 1-D integral and Kramers' formula, log τ against 1/T.

The potential is the double well ``U(x) = a((x − 1)² − 1)²`` (minima at 0 and 2, saddle at 1,
barrier ``ΔU = a``), so that "arrived in the other well" is the first step with ``|x| > 2``
(``Streaming(abs_above=2)``). The exact MFPT from 0 to 2 is
``τ = (1/T) ∫_0^2 dy e^{U(y)/T} ∫_{−∞}^y e^{−U(z)/T} dz`` (quadrature); Kramers' rate
``r = √(U''_min |U''_saddle|)/(2π) e^{−ΔU/T}`` is its ``ΔU/T ≫ 1`` limit. Runs last
``horizon`` times the exact τ, so censoring is negligible; the few replicas that have not
arrived are counted (and τ is then a lower bound). Points are means ±1 s.e. over replicas;
Euler-Maruyama with step ``dt`` (its bias on τ is O(dt)).
"""
import numpy as np
import scipy.integrate
import sympy as sp

import landscape_sde as lsde
from figures._style import CYCLE, SE, letter, log_ticks, plt, save
from landscape_sde.symbolic import SymbolicModel

CONFIG = dict(barrier=1.0, temperatures=[0.5, 0.33, 0.25, 0.2, 0.167], dt=0.005, n_replicas=3000,
              horizon=6.0, seed=5)
QUICK = {**CONFIG, "temperatures": [0.5, 0.33], "n_replicas": 100, "horizon": 3.0}


class ShiftedDoubleWell(SymbolicModel):
    """``U(x) = a((x − 1)² − 1)²``, one coordinate, no data."""

    def __init__(self, barrier):
        x = sp.Symbol("x")
        self.barrier = float(barrier)
        self.expr = self.barrier * ((x - 1) ** 2 - 1) ** 2
        super().__init__(self.expr, (x,), (), [np.zeros(1)])
        self._u = sp.lambdify(x, self.expr, "numpy")

    @property
    def name(self):
        return "ShiftedDoubleWell"

    def potential(self, x):
        return self._u(np.asarray(x, dtype=float))


def exact_mfpt(U, T, a=0.0, c=2.0, lo=-2.0, n=4001):
    """``(1/T) ∫_a^c dy e^{U(y)/T} ∫_lo^y e^{−U(z)/T} dz`` by the trapezoidal rule (``lo`` far
    enough up the outer wall that ``e^{−U/T}`` is negligible there)."""
    z = np.linspace(lo, c, n)
    inner = scipy.integrate.cumulative_trapezoid(np.exp(-(U(z) - U(a)) / T), z, initial=0.0)
    keep = z >= a
    return float(scipy.integrate.trapezoid(np.exp((U(z[keep]) - U(a)) / T) * inner[keep], z[keep]) / T)


def compute(config):
    a = config["barrier"]
    well = ShiftedDoubleWell(a)
    temps = np.array(config["temperatures"])
    kramers = np.sqrt(8 * a * 4 * a) / (2 * np.pi) * np.exp(-a / temps)  # U''(0) = 8a, U''(1) = −4a
    exact = np.array([exact_mfpt(well.potential, T) for T in temps])
    mean, se, arrived = [], [], []
    for k, T in enumerate(temps):
        n_steps = int(np.ceil(config["horizon"] * exact[k] / config["dt"]))
        ens = lsde.simulate(well, lsde.Langevin(config["dt"], T), [0.0], n_steps=n_steps,
                            n_replicas=config["n_replicas"], save_every=n_steps, rng=config["seed"] + k,
                            stream=lsde.Streaming(coords=(), abs_above=2.0))
        steps = ens.stats["first_passage_level"]
        done = steps >= 0
        t = np.where(done, steps, n_steps) * config["dt"]  # censored at the horizon
        mean.append(t.mean())
        se.append(t.std(ddof=1) / np.sqrt(t.size))
        arrived.append(float(done.mean()))
    grid = np.linspace(1 / temps.max() * 0.9, 1 / temps.min() * 1.05, 60)
    return {"temperatures": temps, "inv_t": 1 / temps, "mfpt": np.array(mean), "mfpt_se": np.array(se),
            "arrived": np.array(arrived), "exact": exact, "kramers_tau": 1 / kramers,
            "grid_inv_t": grid, "grid_exact": np.array([exact_mfpt(well.potential, 1 / g) for g in grid]),
            "grid_kramers": 2 * np.pi / np.sqrt(32 * a * a) * np.exp(a * grid),
            "ratio_to_exact": (np.array(mean) / exact).tolist()}


def plot(data, path):
    c = data["config"]
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.9))
    ax = axes[0]
    ax.plot(data["grid_inv_t"], data["grid_exact"], "k-", lw=1.2, label="exact MFPT integral")
    ax.plot(data["grid_inv_t"], data["grid_kramers"], "k--", lw=1, label="Kramers 1/r")
    ax.errorbar(data["inv_t"], data["mfpt"], data["mfpt_se"], fmt="o", color=CYCLE[0],
                label=f"Langevin, {c['n_replicas']} replicas ({SE})")
    ax.set(yscale="log", xlabel="ΔU / T", ylabel="mean first-passage time τ", title="Arrhenius plot")
    log_ticks(ax, "y")
    ax.legend(loc="upper left")
    ax = axes[1]
    x = data["inv_t"]
    ax.errorbar(x, np.asarray(data["mfpt"]) / data["exact"], np.asarray(data["mfpt_se"]) / data["exact"],
                fmt="o", color=CYCLE[0], label="simulation / exact")
    ax.plot(x, np.asarray(data["kramers_tau"]) / data["exact"], "s--", color=CYCLE[1], mfc="white",
            label="Kramers / exact")
    ax.axhline(1, color="k", lw=0.8)
    ax.set(xlabel="ΔU / T", ylabel="ratio", title=f"against the exact τ ({SE})")
    ax.legend(loc="lower right")
    letter(axes)
    save(fig, path)
