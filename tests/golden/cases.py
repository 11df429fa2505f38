"""Golden cases of the trajectory engine: paths recorded before a refactor of the compiled
loop (``python -m tests.golden.cases`` rewrites ``engine.npz``) and compared bit for bit by
``tests/test_golden.py`` after it. Covers every scheme, momentum on/off, the three sampling
modes, small (unrolled) and large dimensions, symbolic models, observers, streaming
statistics, divergence and NSGD refreshes."""
import pathlib

import numpy as np

import landscape_sde as lsde
from models import DoubleWell, LinearRegression, Quadratic, Valley
from models.deep_linear import DeepLinearNetwork
from models.tanh_network import TanhNetwork

PATH = pathlib.Path(__file__).with_name("engine.npz")


def _models():
    h = np.array([[1.5, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 0.5]])
    c = np.array([[1.0, 0.2, 0.1], [0.2, 0.5, 0.0], [0.1, 0.0, 0.3]])
    import sympy as sp
    x, y = sp.symbols("x y")
    return {
        "quad": Quadratic(h, c, n_samples=7, center=[0.1, -0.2, 0.3]),
        "linreg": LinearRegression.teacher_student(20, 3, noise=0.3, rng=1),
        "dwell": DoubleWell(dim=2),
        "sym_dwell": lsde.symbolic.potential((x**2 - 1)**2 + 2 * y**2, [x, y]),
        "dln": DeepLinearNetwork.teacher_student([3, 4, 5, 2], 7, noise=0.1, rng=0),
        "tanh": TanhNetwork.chebyshev(width=5, degree=3, n_samples=7),
        "valley": Valley(delta=0.02, kappa=3.0, alpha=0.5),
    }


def cases():
    """``{name: (model, scheme, theta0, kwargs)}``."""
    m = _models()
    t3 = np.array([0.5, -0.4, 0.3])
    t_dln = np.random.default_rng(3).normal(0, 0.4, m["dln"].dim)
    t_tanh = np.random.default_rng(4).normal(0, 0.5, m["tanh"].dim)
    obs = {"l": (5, lambda th: np.array([m["linreg"].loss(t) for t in th]))}
    vel = {"v": (4, lambda th, v: (v * v).sum(axis=1), "velocity")}
    return {
        "gd_quad": (m["quad"], lsde.GD(0.1), t3, {}),
        "gd_mom_dln": (m["dln"], lsde.GD(0.05, momentum=0.5), t_dln, {}),
        "gd_diverge": (m["quad"], lsde.GD(1.5), t3, dict(divergence_bound=100.0)),
        "sgd_without": (m["linreg"], lsde.SGD(0.05, 3), t3, dict(observe=obs)),
        "sgd_replace": (m["linreg"], lsde.SGD(0.05, 3, replace=True), t3, {}),
        "sgd_shuffle_mom": (m["linreg"], lsde.SGD(0.05, 4, shuffle=True, momentum=0.3), t3,
                            dict(observe=vel)),
        "sgd_dln": (m["dln"], lsde.SGD(0.05, 2), t_dln, {}),
        "sgd_tanh_mom": (m["tanh"], lsde.SGD(0.05, 3, momentum=0.9), t_tanh, {}),
        "nsgd_linreg": (m["linreg"], lsde.NSGD(0.05, 3, k=1, gamma=0.1, refresh_every=7), t3, {}),
        "nsgd_dln_mom": (m["dln"], lsde.NSGD(0.05, 3, k=2, gamma=0.3, refresh_every=9,
                                              momentum=0.4, replace=True), t_dln, {}),
        "langevin_dwell": (m["dwell"], lsde.Langevin(0.01, 0.3), [1.0, 0.0], {}),
        "langevin_sym": (m["sym_dwell"], lsde.Langevin(0.01, 0.3), [1.0, 0.0], {}),
        "langevin_quad_stream": (m["quad"], lsde.Langevin(0.05, 0.5), t3, dict(
            stream=lsde.Streaming(histogram=("loss", 0.0, 3.0, 12), loss_below=0.05,
                                  abs_above=2.0, blocks=3))),
        "lm_dwell": (m["dwell"], lsde.LeimkuhlerMatthews(0.01, 0.3), [1.0, 0.0], {}),
        "lm_dln": (m["dln"], lsde.LeimkuhlerMatthews(0.01, 0.05), t_dln, {}),
        "sme_linreg": (m["linreg"], lsde.SME(0.05, 3), t3, {}),
        "sme_quad_dt": (m["quad"], lsde.SME(0.05, 2, replace=True, dt=0.02), t3, {}),
        "aniso_valley": (m["valley"], lsde.AnisotropicLangevin(0.05), [0.3, 0.1], {}),
    }


def run(name, model, scheme, theta0, kwargs, rng=12345):
    ens = lsde.simulate(model, scheme, theta0, n_steps=60, n_replicas=7, save_every=5,
                        rng=rng, **kwargs)
    out = {f"{name}/theta": ens.theta, f"{name}/loss": ens.loss,
           f"{name}/diverged_at": ens.diverged_at}
    for key, obs in ens.observables.items():
        out[f"{name}/obs/{key}"] = obs["values"]
    for key, value in ens.stats.items():
        out[f"{name}/stats/{key}"] = np.asarray(value)
    return out


def record():
    arrays = {}
    for name, case in cases().items():
        arrays.update(run(name, *case))
    return arrays


if __name__ == "__main__":
    np.savez_compressed(PATH, **record())
    print(f"wrote {PATH}")
