"""Mean first-passage time over a barrier: backward Fokker-Planck solve against exact
quadrature and the Kramers (1-D) and Langer (2-D) asymptotics."""
import numpy as np

from analysis.stationary import mfpt_quadrature
from landscape_sde.fokker_planck import FokkerPlanck, Grid

# U = (x² − 1)²: ΔU = 1, U''(±1) = 8, U''(0) = −4; 2-D: + ½(1 + a x²) y² (transverse
# curvature 1 + a at the minima, 1 at the saddle).
CONFIG = dict(barriers=[2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20], cells_1d=801,
              barriers_2d=[4, 6, 8, 10, 12, 15, 20], shape_2d=[241, 121], a=3.0)
QUICK = {**CONFIG, "barriers": [2, 6, 10], "barriers_2d": [6, 10], "shape_2d": [81, 41]}


def _U(x):
    return (x * x - 1) ** 2


def compute(config):
    grid = Grid([-2.0], [2.0], (config["cells_1d"],))
    x = grid.axes()[0]
    i, target = np.argmin(np.abs(x + 1)), x >= 1.0
    bt = np.array(config["barriers"], dtype=float)
    solver, quad = [], []
    for b in bt:
        fp = FokkerPlanck(grid, 1 / b, potential=lambda p: _U(p[:, 0]))
        solver.append(fp.mfpt(target)[i])
        quad.append(mfpt_quadrature(_U, 1 / b, x[i], x[target][0], -2.0, shift=1.0,
                                    points=(-1.0, 0.0, 1.0)))
    kramers = np.sqrt(8 * 4) / (2 * np.pi) * np.exp(-bt)
    a = config["a"]
    g2 = Grid([-2.0, -2.0], [2.0, 2.0], tuple(config["shape_2d"]))
    start = np.argmin(np.sum((g2.centers() - [-1.0, 0.0]) ** 2, axis=1))
    bt2 = np.array(config["barriers_2d"], dtype=float)
    tau2 = np.array([FokkerPlanck(g2, 1 / b, potential=lambda p: _U(p[:, 0]) + 0.5 * (
        1 + a * p[:, 0] ** 2) * p[:, 1] ** 2).mfpt(lambda p: p[:, 0] >= 1.0).ravel()[start]
        for b in bt2])
    langer = 4 / (2 * np.pi) * np.sqrt(8 * (1 + a) / 4) * np.exp(-bt2)
    return dict(barrier_over_T=bt, tau_solver=np.array(solver), tau_quad=np.array(quad),
                tau_kramers=1 / kramers, barrier_over_T_2d=bt2, tau_2d=tau2,
                tau_langer=1 / langer, start=float(x[i]), target=float(x[target][0]))


def plot(data, path):
    import matplotlib.pyplot as plt

    from figures._style import save
    bt, c = data["barrier_over_T"], data["config"]
    fig, (a, b, e) = plt.subplots(1, 3, figsize=(13, 3.9))
    a.semilogy(bt, data["tau_quad"], "k-", lw=1, label="1-D exact (quadrature)")
    a.semilogy(bt, data["tau_solver"], "o", mfc="none", color="C0", label="1-D backward solve")
    a.semilogy(bt, data["tau_kramers"], "--", color="C1", label="1-D Kramers 2π exp(ΔU/T) / √(U″(−1)·|U″(0)|)")
    a.semilogy(data["barrier_over_T_2d"], data["tau_2d"], "s", color="C2", ms=4,
               label="2-D backward solve")
    a.semilogy(data["barrier_over_T_2d"], data["tau_langer"], ":", color="C2", label="2-D Langer")
    a.set(xlabel="barrier / T", ylabel="mean first-passage time τ",
          title=f"τ from the left minimum (x = {data['start']:.3f}) to x ≥ {data['target']:.3f}")
    a.legend(fontsize=7)
    T = 1 / bt
    b.plot(T, data["tau_quad"] / data["tau_kramers"], "k-", lw=1, label="1-D exact / Kramers")
    b.plot(T, 1 + 3 * T / 8, "--", color="C1", label="1 + 3T/(8ΔU) (first Laplace correction)")
    b.plot(1 / data["barrier_over_T_2d"], data["tau_2d"] / data["tau_langer"], "s", color="C2",
           ms=4, label="2-D solve / Langer")
    b.axhline(1, color="0.5", lw=0.8)
    b.set(xlabel="T / barrier", ylabel="τ / τ_asymptotic", xlim=(0, None),
          title="Approach to the asymptotics (prefactor included)")
    b.legend(fontsize=7)
    e.semilogy(bt, np.abs(data["tau_solver"] / data["tau_quad"] - 1), "o-", color="C0")
    e.set(xlabel="barrier / T", ylabel="|τ_solver / τ_exact − 1|  (O(h²) grid error)",
          title=f"1-D solver against quadrature ({c['cells_1d']} cells, h = {4 / c['cells_1d']:.4f})")
    save(fig, path)
