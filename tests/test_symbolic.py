"""Symbolic models: agreement with hand-written models, trajectories, reuse, bad input."""
import numpy as np
import pytest
import sympy as sp

import landscape_sde as lsde
from landscape_sde import symbolic
from landscape_sde.simulation import driver
from tests.models_under_test import symbolic_twins

TWINS = symbolic_twins()


@pytest.mark.parametrize("name", sorted(TWINS))
def test_symbolic_matches_hand_written_to_rounding(name):
    sym, ref = TWINS[name]
    gen = np.random.default_rng(0)
    for _ in range(3):
        theta = gen.normal(size=ref.dim)
        assert sym.loss(theta) == pytest.approx(ref.loss(theta), rel=1e-13, abs=1e-14)
        np.testing.assert_allclose(sym.grad(theta), ref.grad(theta), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(sym.hessian(theta), ref.hessian(theta), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(sym.sample_grads(theta), ref.sample_grads(theta),
                                   rtol=1e-12, atol=1e-13)
        out_s, out_r = np.empty(ref.dim), np.empty(ref.dim)
        sym.compiled("grad")(theta, sym.data, out_s)
        ref.compiled("grad")(theta, ref.data, out_r)
        np.testing.assert_allclose(out_s, out_r, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name, scheme", [
    ("sym-linreg", lsde.SGD(0.05, 4)), ("sym-linreg", lsde.SME(0.05, 4)),
    ("sym-quadratic", lsde.SGD(0.1, 2, momentum=0.5)), ("sym-quadratic", lsde.GD(0.1)),
    ("sym-double-well", lsde.Langevin(1e-2, 0.3)),
    ("sym-double-well", lsde.LeimkuhlerMatthews(1e-2, 0.3)),
])
def test_same_trajectories_as_hand_written(name, scheme):
    # Same seed, same streams, same batches: paths differ only by the rounding of differently
    # ordered arithmetic (~1e-16 per step), amplified at most by the contraction-free growth
    # over 300 steps; 1e-9 absolute is far below any statistical difference.
    sym, ref = TWINS[name]
    theta0 = np.full(ref.dim, 0.4)
    a = lsde.simulate(sym, scheme, theta0, n_steps=300, n_replicas=20, save_every=30, rng=7)
    b = lsde.simulate(ref, scheme, theta0, n_steps=300, n_replicas=20, save_every=30, rng=7)
    np.testing.assert_allclose(a.theta, b.theta, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-9, atol=1e-12)


def test_same_expression_is_compiled_once():
    x, y = sp.symbols("x y")
    m1 = symbolic.potential(x**4 - x**2 + y**2, [x, y])
    m2 = symbolic.potential(x**4 - x**2 + y**2, [x, y])
    m3 = symbolic.potential(x**4 - 2 * x**2 + y**2, [x, y])
    assert m1.kernels == m2.kernels and m1.kernels != m3.kernels
    scheme = lsde.Langevin(1e-2, 0.5)
    lsde.simulate(m1, scheme, [0.0, 0.0], n_steps=5)
    assert driver(m1, scheme.method(m1)) is driver(m2, scheme.method(m2))


def test_bad_input_is_named():
    x, y, u, z = sp.symbols("x y u z")
    with pytest.raises(ValueError, match=r"free symbols \['z'\]"):
        symbolic.potential(x**2 + z, [x])
    with pytest.raises(TypeError, match="scalar"):
        symbolic.potential(sp.Matrix([x, y]), [x, y])
    with pytest.raises(TypeError, match="params"):
        symbolic.potential(x**2, [x + 1])
    with pytest.raises(ValueError, match="distinct"):
        symbolic.finite_sum((x - u) ** 2, [x], {(u, x): np.ones((3, 2))})
    with pytest.raises(ValueError, match="same number of samples"):
        symbolic.finite_sum((x * u - y) ** 2, [x], {u: np.ones(3), y: np.ones(4)})
    with pytest.raises(ValueError, match="column"):
        symbolic.finite_sum((x * u - y) ** 2, [x], {(u, y): np.ones((3, 3))})
    with pytest.raises(ValueError, match="finite"):
        symbolic.finite_sum((x * u) ** 2, [x], {u: [1.0, np.nan]})
    with pytest.raises(TypeError, match="data"):
        symbolic.finite_sum((x * u) ** 2, [x], [1.0, 2.0])


def test_transcendental_functions_compile():
    # tanh, exp, sqrt, rational constants: printed as math.* for numba, checked against
    # lambdify's NumPy path and finite differences.
    w1, w2, u, v = sp.symbols("w1 w2 u v")
    xs = np.linspace(-1, 1, 9)
    model = symbolic.finite_sum((w2 * sp.tanh(w1 * u) - v) ** 2 / 2 + sp.Rational(1, 10) * sp.exp(-w1**2)
                                + sp.sqrt(1 + w2**2), [w1, w2], {u: xs, v: np.sin(2 * xs)})
    theta = np.array([0.7, -1.3])
    out = np.empty(2)
    model.compiled("grad")(theta, model.data, out)
    np.testing.assert_allclose(out, model.grad(theta), rtol=1e-12)
    h = 1e-6
    fd = [(model.loss(theta + h * e) - model.loss(theta - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(out, fd, rtol=1e-7)
    ens = lsde.simulate(model, lsde.SGD(0.1, 3), theta, n_steps=200, n_replicas=4, rng=0)
    assert ens.loss[-1].max() < ens.loss[0, 0]


def test_second_process_loads_kernels_from_disk(tmp_path):
    # numba's dispatcher statistics, not timings: a miss in the first process, a hit after.
    import os
    import subprocess
    import sys
    code = ("import numpy as np, sympy as sp; from landscape_sde import symbolic\n"
            "x = sp.Symbol('x'); m = symbolic.potential(x**4 / 4 - x**3 / 3 + 0.125 * x, [x])\n"
            "k = m.compiled('grad'); out = np.empty(1); k(np.array([0.5]), m.data, out)\n"
            "print(sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values()))\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
           "LANDSCAPE_SDE_CACHE_DIR": str(tmp_path / "gen")}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["0", "1"] and runs[1] == ["1", "0"]
