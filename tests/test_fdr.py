"""Fluctuation-dissipation relations measured during simulate (analysis.fdr).

Every statistical assertion is "within 4 standard errors": the standard errors are batch means
over 10 time blocks × the replicas. On the quadratic and linear-regression runs each block is
>= 15 relaxation times 1/(ηλ_min) long, so the block means are nearly independent; on the deep
linear network the slow mode (rescaling between layers) is longer, so those runs equilibrate
for 40,000 steps first. A 4-SE band fails with probability < 1e-4 per check for a correct
estimator (the quadratic and deep-linear tests were also run on 6 and 3 further seeds: no
failure), while each negative control is off by >= 8 SE (4 SE for the deep-linear ones).
"""
import numpy as np
import pytest

import landscape_sde as lsde
from analysis import fdr
from models import LinearRegression, Quadratic
from models.deep_linear import DeepLinearNetwork

H = np.array([[1.5, 0.3], [0.3, 0.6]])
C = np.array([[1.0, 0.2], [0.2, 0.5]])
QUAD = Quadratic(H, C, n_samples=8, center=[0.5, -0.3])


def _quad(lr, b, mu, n_steps=4000, burn_in=500, replace=False, **kw):
    return fdr.measure_fdr(QUAD, lsde.SGD(lr, b, momentum=mu, replace=replace), QUAD.center,
                           n_steps=n_steps, n_replicas=64, every=10, burn_in=burn_in, rng=1,
                           origin=QUAD.center,
                           matrix_shape=(1, 2), **kw)


def test_velocity_observer_sees_the_heavy_ball_velocity():
    # Engine extension: (every, f, "velocity") passes v_k = θ_k − θ_{k−1}.
    seen = {}

    def f(theta, v):
        seen.setdefault("v", []).append(v.copy())
        return v[:, 0]

    ens = lsde.simulate(QUAD, lsde.SGD(0.1, 2, momentum=0.7), [1.0, 1.0], n_steps=20,
                        n_replicas=3, rng=4, observe={"v": (5, f, "velocity")})
    assert np.array_equal(ens.observables["v"]["t"], [0, 5, 10, 15, 20])
    for k, v in zip((5, 10, 15, 20), seen["v"][1:]):
        np.testing.assert_allclose(v, ens.theta[k] - ens.theta[k - 1], rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="momentum"):
        lsde.simulate(QUAD, lsde.SGD(0.1, 2), [1.0, 1.0], n_steps=5, observe={"v": (1, f, "velocity")})
    with pytest.raises(ValueError, match="carries no state .vel."):
        lsde.simulate(QUAD, lsde.SGD(0.1, 2), [1.0, 1.0], n_steps=5, observe={"v": (1, f, "vel")})


def test_observer_matches_numpy_reference():
    net = DeepLinearNetwork.teacher_student([3, 2, 2], 10, noise=0.3, rng=0)
    scheme = lsde.SGD(0.1, 3, momentum=0.5)
    obs = fdr.FDRObserver(net, scheme, origin=np.full(net.dim, 0.1), blocks=net.offsets,
                          matrix_shape=(1, net.dim))
    gen = np.random.default_rng(0)
    theta, v = gen.normal(size=(2, net.dim)), gen.normal(size=(2, net.dim))
    s = obs.split(obs(theta, v))
    c_b = lsde.noise.batch_noise_factor(10, 3)
    for r in range(2):
        g, G = net.grad(theta[r]), net.sample_grads(theta[r])
        Sig = np.outer(g, g) + c_b * lsde.noise.per_sample_covariance(G)
        d = theta[r] - 0.1
        np.testing.assert_allclose(s["theta_grad"][r].sum(), d @ g, rtol=1e-12)
        np.testing.assert_allclose(s["batch_grad_sq"][r].sum(), np.trace(Sig), rtol=1e-12)
        np.testing.assert_allclose(s["theta_grad_matrix"][r], np.outer(d, g), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s["batch_grad_matrix"][r], Sig, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s["velocity_grad"][r], v[r] @ g, rtol=1e-12)
        np.testing.assert_allclose(s["loss"][r], net.loss(theta[r]), rtol=1e-12)
        a, e = net.offsets[1], net.offsets[2]
        np.testing.assert_allclose(s["theta_grad"][r][1], d[a:e] @ g[a:e], rtol=1e-12)


def test_block_statistics_standard_error_is_calibrated():
    # i.i.d. N(0,1) samples: SE must be 1/sqrt(n) within its own sampling error (~3% here).
    x = np.random.default_rng(0).normal(size=(200, 50))
    mean, se, blocks = fdr.block_statistics(x, 10)
    assert blocks.shape == (500,)
    assert abs(se * np.sqrt(x.size) - 1) < 0.1 and abs(mean) < 4 * se
    with pytest.raises(ValueError, match="n_batches"):
        fdr.block_statistics(x, 500)


@pytest.mark.parametrize("lr, b, mu, replace", [(0.1, 1, 0.0, False), (0.5, 4, 0.0, False),
                                                (0.3, 3, 0.0, True), (0.2, 2, 0.5, False),
                                                (0.05, 2, 0.9, False)])
def test_yaida_relations_hold_on_quadratic(lr, b, mu, replace):
    # replace=True: c_b = 1/b instead of (N − b)/(b(N − 1)) in E_B‖g_B‖²
    rel = _quad(lr, b, mu, n_steps=4000 if mu < 0.9 else 8000, burn_in=500 if mu < 0.9 else 2000,
                replace=replace)[0]
    names = ["FDR1", "FDR2"] + (["FDR1_gradient"] if mu else [])
    for name in names:
        assert rel[name].holds, rel[name]
        assert rel[name].ratio_se < 0.02  # the test has power: 2% relative error is excluded


def test_negative_controls_wrong_factors_fail():
    # μ = 0.5: the v-form without (1 + μ), and the g_B-only (leading-order) form, both fail;
    # μ = 0, η = 0.5: the SME's continuum factor (no ‖∇L‖² term) fails; so does the wrong
    # batch factor c_b.
    rel, ens, obs = _quad(0.2, 2, 0.5)
    s = obs.split(ens.observables["fdr"]["values"][ens.observables["fdr"]["t"] >= 500])
    wrong = fdr.relation("no (1+μ)", s["theta_grad"].sum(-1), s["velocity_sq"].sum(-1) / (2 * 0.2))
    assert not wrong.holds and abs(wrong.z) > 8
    assert not rel["FDR1_noise_scale"].holds and abs(rel["FDR1_noise_scale"].z) > 8
    rel, ens, obs = _quad(0.5, 4, 0.0)
    s = obs.split(ens.observables["fdr"]["values"][ens.observables["fdr"]["t"] >= 500])
    sme = fdr.relation("SME", s["theta_grad"].sum(-1), 0.5 / 2 * (s["batch_grad_sq"] - s["grad_sq"]).sum(-1))
    assert not sme.holds and abs(sme.z) > 8
    # Sampling with replacement measured with the without-replacement factor c_b fails.
    rel, ens, obs = _quad(0.3, 3, 0.0, replace=True)
    s = obs.split(ens.observables["fdr"]["values"][ens.observables["fdr"]["t"] >= 500])
    ratio = lsde.noise.batch_noise_factor(8, 3) / lsde.noise.batch_noise_factor(8, 3, replace=True)
    noise = (s["batch_grad_sq"] - s["grad_sq"]).sum(-1)
    wrong_cb = fdr.relation("c_b", s["theta_grad"].sum(-1), 0.3 / 2 * (s["grad_sq"].sum(-1) + ratio * noise))
    assert not wrong_cb.holds and abs(wrong_cb.z) > 8


def test_negative_control_before_stationarity_fails():
    # Start 3 units from the minimum and measure from step 0: the relation fails and the
    # half-window check flags it.
    rel = fdr.measure_fdr(QUAD, lsde.SGD(0.1, 2), QUAD.center + 3.0, n_steps=60, n_replicas=64,
                          every=2, burn_in=0, rng=1, origin=QUAD.center)[0]["FDR1"]
    assert not rel.stationary and not rel.holds and abs(rel.z) > 8


@pytest.mark.parametrize("lr, b", [(0.05, 2), (0.2, 8)])
def test_linear_regression_yaida_and_linear_learning(lr, b):
    lin = LinearRegression.teacher_student(32, 3, noise=0.5, rng=2)
    w = lin.minimizer()
    obs = fdr.FDRObserver(lin, lsde.SGD(lr, b), origin=w, matrix_shape=(1, 3))
    ens = lsde.simulate(lin, obs.scheme, w, n_steps=6000, n_replicas=64, save_at=[0], rng=3,
                        observe={"fdr": obs.spec(10)})
    yaida = fdr.yaida_relations(ens, obs, burn_in=500)
    han = fdr.linear_learning_relations(ens, obs, lin.loss(w), burn_in=500)
    for r in (yaida["FDR1"], yaida["FDR2"], han["trace"], han["matrix"]):
        assert r.holds and r.ratio_se < 0.02, r
    # Negative control: (η/2) instead of (η/4) in the trace form.
    s = obs.split(ens.observables["fdr"]["values"][50:])
    bad = fdr.relation("η/2", s["loss"] - lin.loss(w), lr / 2 * s["batch_grad_sq"].sum(-1))
    assert not bad.holds


def test_linear_learning_matrix_form_vector_outputs():
    # One-layer linear network W (2 × 3): ⟨δᵀδ⟩Σ_xx + Σ_xx⟨δᵀδ⟩ = η⟨G_BᵀG_B⟩ (3 × 3).
    net = DeepLinearNetwork.teacher_student([3, 2], 32, noise=0.5, rng=2)
    W = np.linalg.lstsq(net.X, net.Y, rcond=None)[0].T.ravel()
    obs = fdr.FDRObserver(net, lsde.SGD(0.1, 4), origin=W, matrix_shape=(2, 3))
    ens = lsde.simulate(net, obs.scheme, W, n_steps=5000, n_replicas=48, save_at=[0], rng=3,
                        observe={"fdr": obs.spec(10)})
    han = fdr.linear_learning_relations(ens, obs, net.loss(W), burn_in=500)
    assert han["matrix"].holds and han["trace"].holds, han
    assert han["matrix"].lhs.shape == (3, 3)
    # Negative control: the scalar-output form (a 6 × 6 FDR2 is not a 3 × 3 identity) is
    # not what is measured; the wrong factor η/2 on the right side fails.
    s = obs.split(ens.observables["fdr"]["values"][50:])
    M = s["theta_grad_matrix"]
    assert not fdr.relation("η/2", M + np.swapaxes(M, -1, -2), 0.05 * s["batch_grad_matrix"]).holds


@pytest.fixture(scope="module")
def deep_linear():
    net = DeepLinearNetwork.teacher_student([3, 3, 3, 2], 32, noise=0.5, rng=3)
    return net, net.init(rng=1)


@pytest.mark.parametrize("lr, b, mu", [(0.2, 8, 0.0), (0.1, 4, 0.5)])
def test_deep_linear_network_relations_and_layer_equipartition(deep_linear, lr, b, mu):
    # Equilibrate (the slow direction is the rescaling between layers), then measure with the
    # origin fixed at the ensemble mean (lower variance; any fixed origin is exact).
    net, th0 = deep_linear
    scheme = lsde.SGD(lr, b, momentum=mu)
    eq = lsde.simulate(net, scheme, th0, n_steps=40000, n_replicas=32, save_at=[0], rng=5)
    rel, ens, obs = fdr.measure_fdr(net, scheme, eq.theta[-1], n_steps=20000, n_replicas=32,
                                    every=40, burn_in=0, rng=6, origin=eq.theta[-1].mean(axis=0),
                                    blocks=net.offsets)
    # Each layer's block carries the same share (the deep-linear form, analysis.fdr docstring).
    for name in ["FDR1", "FDR1_block0", "FDR1_block1", "FDR1_block2"] + (["FDR1_gradient"] if mu else []):
        assert rel[name].holds and rel[name].ratio_se < 0.1, rel[name]  # resolves 1 ± 0.4
    # Negative control: the factor of a one-layer net, ⟨θ·∇L⟩ = (η/4)⟨‖g_B‖²⟩ (half the right
    # side), or for μ > 0 the v-form without (1 + μ), is excluded by > 4 SE.
    s = obs.split(ens.observables["fdr"]["values"])
    rhs = (s["velocity_sq"] / (2 * lr) if mu else lr / 4 * s["batch_grad_sq"]).sum(-1)
    assert not fdr.relation("wrong", s["theta_grad"].sum(-1), rhs).holds


def test_bad_arguments():
    with pytest.raises(TypeError, match="scheme"):
        fdr.FDRObserver(QUAD, lsde.GD(0.1))
    with pytest.raises(ValueError, match="shuffle"):
        fdr.FDRObserver(QUAD, lsde.SGD(0.1, 2, shuffle=True))
    with pytest.raises(ValueError, match="blocks"):
        fdr.FDRObserver(QUAD, lsde.SGD(0.1, 2), blocks=[0, 3])
    with pytest.raises(ValueError, match="matrix_shape"):
        fdr.FDRObserver(QUAD, lsde.SGD(0.1, 2), matrix_shape=(3, 1))
    with pytest.raises(ValueError, match="burn_in"):
        fdr.measure_fdr(QUAD, lsde.SGD(0.1, 2), QUAD.center, n_steps=10, n_replicas=4, every=5,
                        burn_in=10)


def test_symbolic_momentum_factor_matches_simulation():
    # The SymPy result of analysis.derivations.fdr_momentum, evaluated at (η, μ), predicts the
    # measured ratio ⟨θ·∇L⟩ / ⟨‖v‖²⟩ within 4 SE; the μ = 0 factor 1/(2η) does not.
    import sympy as sp

    from analysis.derivations import fdr_momentum
    d = fdr_momentum()
    assert d.passed
    eta, mu = sp.symbols("eta mu", positive=True)
    factor = float((d.result[0].rhs / sp.Symbol("V")).subs({eta: 0.2, mu: 0.5}))
    rel, ens, obs = _quad(0.2, 2, 0.5)
    s = obs.split(ens.observables["fdr"]["values"][ens.observables["fdr"]["t"] >= 500])
    assert fdr.relation("sympy", s["theta_grad"].sum(-1), factor * s["velocity_sq"].sum(-1)).holds
    assert not fdr.relation("μ=0", s["theta_grad"].sum(-1), s["velocity_sq"].sum(-1) / 0.4).holds


@pytest.mark.parametrize("lr, mu", [(0.1, 0.0), (0.9, 0.0), (0.3, 0.5)])
def test_effective_temperature_on_quadratic(lr, mu):
    # Both sides of the FDR, divided by tr H, agree with the exact discrete-Lyapunov T_eff
    # within 4 SE; at η = 0.9 (η λ_max = 1.5) the SME's η tr Σ_b/(2 tr H) is excluded (SGD
    # runs hotter, 2.9x), and the second-order formula is closer than the SME.
    rel = _quad(lr, 2, mu)[0]["FDR1"]
    c_b = lsde.noise.batch_noise_factor(8, 2)
    pred = fdr.quadratic_temperature(H, c_b * C, lr, mu)
    t_d, se_d, t_f, se_f = fdr.effective_temperature(rel, np.trace(H))
    assert abs(t_d - pred["exact"]) < 4 * se_d and abs(t_f - pred["exact"]) < 4 * se_f
    if lr == 0.9:
        assert abs(t_f - pred["sme"]) > 8 * se_f
        assert abs(pred["second_order"] - pred["exact"]) < abs(pred["sme"] - pred["exact"])
    if mu == 0.5:  # with momentum the exact value still exceeds the leading order
        assert pred["exact"] > pred["sme"]


def test_readme_fdr_example(capsys):
    # The README's FDR example runs and says what it claims: FDR1 holds, the g_B-only
    # momentum form is ~15% off.
    import pathlib
    import re
    text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    code = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "measure_fdr" in b][0]
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    rel = namespace["rel"]
    assert rel["FDR1"].holds and abs(rel["FDR1"].ratio - 1) < 0.02
    assert not rel["FDR1_noise_scale"].holds and 0.8 < rel["FDR1_noise_scale"].ratio < 0.9
    assert capsys.readouterr().out.count("Relation(") == 2
