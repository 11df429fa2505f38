"""Sharpness by Lanczos on compiled HVPs against the dense Hessian; the deep linear network."""
import numpy as np
import pytest

import landscape_sde as lsde
from analysis.curvature import hessian_eigenpairs, sharpness
from models import LinearRegression, Quadratic
from models.deep_linear import DeepLinearNetwork


@pytest.mark.parametrize("make", [
    lambda: (DeepLinearNetwork.teacher_student([4, 6, 5, 3], 10, noise=0.1, rng=1), None),
    lambda: (Quadratic(np.diag(np.linspace(0.1, 3.0, 30))), None),
    lambda: (LinearRegression.teacher_student(40, 12, noise=0.2, rng=2), None),
], ids=["deep-linear", "quadratic", "linreg"])
def test_lanczos_agrees_with_dense(make):
    model, _ = make()
    theta = model.init(rng=3) if hasattr(model, "init") else np.linspace(-1, 1, model.dim)
    dense = hessian_eigenpairs(model, theta, k=3, method="dense")
    lanczos = hessian_eigenpairs(model, theta, k=3, method="lanczos", tol=1e-12, rng=0)
    np.testing.assert_allclose(lanczos.values, dense.values, rtol=1e-9)
    # eigenvectors agree up to sign when the eigenvalues are separated
    overlap = np.abs(np.sum(lanczos.vectors * dense.vectors, axis=0))
    np.testing.assert_allclose(overlap, 1.0, atol=1e-6)
    assert np.all(lanczos.residuals < 1e-7 * dense.values[0])
    assert 0 < lanczos.n_hvp
    assert dense.sharpness == pytest.approx(dense.values[0])


def test_deep_linear_edge_of_stability_network_is_practical():
    # 20 layers of 50×50 (50,000 parameters): a GD step and a sharpness estimate by Lanczos,
    # checked against the Rayleigh quotient of its eigenvector and a power-iteration bound.
    model = DeepLinearNetwork.edge_of_stability(rng=0)
    theta = model.init(rng=0)
    assert model.dim == 50_000
    ens = lsde.simulate(model, lsde.GD(1e-3), theta, n_steps=5)
    assert ens.loss[-1, 0] < ens.loss[0, 0]
    top = sharpness(model, theta, rng=0)
    v = top.vectors[:, 0]
    assert v @ model.hvp(theta, v) == pytest.approx(top.sharpness, rel=1e-8)
    assert top.residuals[0] < 1e-6 * top.sharpness
    x = np.random.default_rng(1).standard_normal(model.dim)
    for _ in range(30):  # power iteration lower bound on λ_max
        x = model.hvp(theta, x)
        x /= np.linalg.norm(x)
    assert x @ model.hvp(theta, x) <= top.sharpness * (1 + 1e-8)


def test_bad_arguments():
    model = Quadratic(np.eye(3))
    with pytest.raises(ValueError, match="theta"):
        sharpness(model, np.zeros(2))
    with pytest.raises(ValueError, match="method"):
        sharpness(model, np.zeros(3), method="power")
    with pytest.raises(ValueError, match="k"):
        sharpness(model, np.zeros(3), k=5)


@pytest.mark.slow
def test_gd_reaches_the_edge_of_stability():
    # Cohen et al.: from S₀ = 3185 < 2/η = 5000, GD's sharpness rises and then hovers at 2/η
    # (measured 5000-5700 over steps 300-2000) while the loss keeps falling. Tolerance: the
    # oscillation around 2/η is ±15% here; a run that never reached the edge would stay near S₀.
    model = DeepLinearNetwork.edge_of_stability(rng=0)
    theta0 = model.init(rng=0)
    lr = 4e-4
    s0 = sharpness(model, theta0).sharpness
    assert s0 < 0.7 * 2 / lr
    ens = lsde.simulate(model, lsde.GD(lr), theta0, n_steps=2000, save_every=100,
                        observe={"S": (100, lambda th: [sharpness(model, t, tol=1e-6).sharpness
                                                        for t in th])})
    S = ens.observables["S"]["values"][3:, 0]  # after the progressive-sharpening phase
    assert np.all(np.abs(S * lr / 2 - 1) < 0.2)
    assert np.mean(S) * lr / 2 == pytest.approx(1.0, abs=0.12)
    assert ens.loss[-1, 0] < 0.8 * ens.loss[3, 0] and not ens.diverged[0]


def test_scalar_network_gd_ends_just_below_two_over_lr():
    # L = ½(w1 w2 w3 − 1)² from an unbalanced start whose gradient-flow solution has sharpness
    # S_GFS ≈ 4.47. With 2/η below that, GD cannot settle there: the GFS sharpness falls along
    # GD (never rises: Kreisler et al. 2023) until GD converges to a minimum just below 2/η.
    # Reference: with 2/η above S_GFS, GD converges near the gradient-flow solution itself.
    from models import ScalarProductNetwork
    m = ScalarProductNetwork(depth=3)
    w0 = np.array([2.0, 0.5, 0.25])
    s_gfs = m.gradient_flow_solution_sharpness(w0)
    assert m.gradient_flow_solution(w0).prod() == pytest.approx(1.0, rel=1e-12)
    for lr in (0.5, 0.55):
        assert 2 / lr < s_gfs
        ens = lsde.simulate(m, lsde.GD(lr), w0, n_steps=20_000, save_every=100)
        final = ens.theta[-1, 0]
        assert ens.loss[-1, 0] < 1e-20
        s_final = sharpness(m, final, method="dense").sharpness
        assert 0.9 * 2 / lr < s_final < 2 / lr
        path = [m.gradient_flow_solution_sharpness(w) for w in ens.theta[:, 0]]
        assert np.all(np.diff(path) <= 1e-9 * s_gfs)
    ens = lsde.simulate(m, lsde.GD(0.3), w0, n_steps=20_000, save_every=20_000)
    assert sharpness(m, ens.theta[-1, 0], method="dense").sharpness == pytest.approx(s_gfs, rel=0.05)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_heavy_ball_edge_is_two_plus_two_beta_over_lr(beta):
    # GD with momentum β on L = ½ h θ²: stable iff η h < 2 + 2β. Just inside
    # the edge it converges, just outside it diverges, at the step the growth rate predicts.
    model = Quadratic([[1.0]])
    edge = 2 + 2 * beta
    inside = lsde.simulate(model, lsde.GD(0.98 * edge, momentum=beta), [1.0], n_steps=4000)
    outside = lsde.simulate(model, lsde.GD(1.02 * edge, momentum=beta), [1.0], n_steps=4000)
    assert not inside.diverged[0] and abs(inside.theta[-1, 0, 0]) < 1e-3
    assert outside.diverged[0]


def _exact_batch_average(model, theta, b, f):
    """E_B[f(B)] over all b-subsets (uniform without replacement), by enumeration."""
    import itertools
    vals = [f(np.array(B, dtype=np.int64)) for B in itertools.combinations(range(model.n_samples), b)]
    return float(np.mean(vals))


def test_minibatch_quantities_against_enumeration():
    from analysis.curvature import minibatch_sharpness
    model = LinearRegression.teacher_student(8, 3, noise=0.5, rng=4)
    theta = np.array([0.5, -0.2, 0.3])
    est = minibatch_sharpness(model, theta, 2, rel_tol=0.03, rng=0)
    H = model.hessian(theta)
    S = np.linalg.eigvalsh(H)[-1]

    def parts(idx):
        Xb = model.X[idx]
        Hb = Xb.T @ Xb / len(idx)
        gb = model.sample_grads(theta, idx).mean(axis=0)
        return np.linalg.eigvalsh(Hb)[-1], gb @ Hb @ gb / (gb @ gb), gb @ H @ gb
    g = model.grad(theta)
    exact = {"minibs": _exact_batch_average(model, theta, 2, lambda i: parts(i)[0]),
             "batch_sharpness": _exact_batch_average(model, theta, 2, lambda i: parts(i)[1]),
             "gni": _exact_batch_average(model, theta, 2, lambda i: parts(i)[2]) / (g @ g)}
    for name, e in est.items():
        # stopping rule: se ≤ 3% of the mean, unless the batch budget ran out first;
        # the estimate must then be within 4 standard errors of the exact average
        assert e.se <= 0.0301 * abs(e.mean) or e.n_batches == 2000
        assert abs(e.mean - exact[name]) < 4 * e.se, (name, e, exact[name])
    assert est["minibs"].mean > S + 10 * est["minibs"].se  # MiniBS ≥ S (convexity), strictly here


def test_full_batch_limits():
    from analysis.curvature import minibatch_sharpness, step_sharpness
    model = DeepLinearNetwork.teacher_student([3, 4, 2], 6, noise=0.2, rng=5)
    theta = model.init(rng=6)
    est = minibatch_sharpness(model, theta, model.n_samples, rng=0)
    S = sharpness(model, theta, method="dense").sharpness
    step = step_sharpness(model, theta)
    assert est["minibs"].mean == pytest.approx(S, rel=1e-10)
    assert est["batch_sharpness"].mean == pytest.approx(step, rel=1e-10)
    assert est["gni"].mean == pytest.approx(step, rel=1e-10)
    assert all(e.se == pytest.approx(0, abs=1e-10 * abs(e.mean)) for e in est.values())


def test_sharpest_directions_on_a_quadratic():
    # L = ½ θᵀHθ: cross-sections are parabolas L(θ) + t gᵀe + ½ λ t², and a step along e_i alone
    # changes the loss by (gᵀe_i)² η (η λ_i/2 − 1): it cannot lower the loss once η λ_i ≥ 2.
    from analysis.curvature import sharpest_directions
    H = np.diag([10.0, 3.0, 1.0])
    model = Quadratic(H, 0.5 * np.eye(3), n_samples=6)
    theta = np.array([0.3, -0.5, 0.8])
    lr = 0.25  # η λ = 2.5, 0.75, 0.25
    d = sharpest_directions(model, theta, lr, k=2, batch=[0, 3], method="dense")
    g = H @ theta
    np.testing.assert_allclose(d.eigenvalues, [10.0, 3.0])
    np.testing.assert_allclose(d.cos_grad, np.abs(g[:2]) / np.linalg.norm(g), rtol=1e-12)
    expected = g[:2] ** 2 * lr * (lr * np.array([10.0, 3.0]) / 2 - 1)
    np.testing.assert_allclose(d.step_loss_change, expected, rtol=1e-12)
    assert d.step_loss_change[0] > 0 > d.step_loss_change[1]  # overshoot along e_1 only
    for i, lam in enumerate([10.0, 3.0]):
        t = d.offsets  # e_i is defined up to sign: the parabola for either orientation
        plus, minus = (model.loss(theta) + s * t * g[i] + 0.5 * lam * t**2 for s in (1, -1))
        assert np.allclose(d.cross_sections[i], plus, rtol=1e-12) or \
            np.allclose(d.cross_sections[i], minus, rtol=1e-12)
    gb = model.sample_grads(theta, [0, 3]).mean(axis=0)
    assert d.cos_batch_grad == pytest.approx(gb @ g / np.linalg.norm(gb) / np.linalg.norm(g))


@pytest.mark.slow
def test_tanh_network_progressive_sharpening_and_edge():
    # 1→100→1 tanh network on T_3 at 20 Chebyshev nodes (Cohen et al.'s example), S₀ = 31.0.
    # η = 0.05 (2/η = 40): the sharpness rises steadily (32 → 36 over 20,000 steps) while the
    # loss falls monotonically. η = 0.06 (2/η = 33.3): it rises to the edge within ~1500 steps
    # and then hovers there, measured 32.8–33.8 (|ηS/2 − 1| < 0.015) from step 2000 to 20,000,
    # while the loss keeps falling; tolerance 0.03 is twice that band. Negative control: the
    # η = 0.05 run stays below 92% of its own edge (it ends at 90%).
    from models.tanh_network import TanhNetwork
    m = TanhNetwork.chebyshev(width=100, degree=3, n_samples=20)
    theta0 = m.init(rng=0)
    assert sharpness(m, theta0).sharpness == pytest.approx(31.04, abs=0.01)
    runs = {}
    for lr in (0.05, 0.06):
        runs[lr] = lsde.simulate(m, lsde.GD(lr), theta0, n_steps=20_000, save_every=2000,
                                 observe={"S": (2000, lambda th: [sharpness(m, t).sharpness for t in th])})
    S = runs[0.05].observables["S"]["values"][2:, 0]  # from step 4000 on
    assert np.all(np.diff(S) > 0) and S[-1] > 1.05 * S[0] and S[-1] * 0.05 / 2 < 0.92
    assert np.all(np.diff(runs[0.05].loss[:, 0]) < 0)
    edge = runs[0.06].observables["S"]["values"][1:, 0] * 0.06 / 2  # from step 2000 on
    assert np.all(np.abs(edge - 1) < 0.03)
    assert runs[0.06].loss[-1, 0] < 0.2 * runs[0.06].loss[1, 0]


def test_deep_linear_held_out_loss():
    # test_loss on the held-out samples equals the training loss of a network built on them
    m = DeepLinearNetwork.teacher_student([3, 4, 2], 10, noise=0.3, n_test=7, rng=2)
    theta = m.init(rng=3)
    held_out = DeepLinearNetwork([3, 4, 2], m.test_X, m.test_Y)
    assert m.test_X.shape == (7, 3)
    assert m.test_loss(theta) == pytest.approx(held_out.loss(theta), rel=1e-13)
    assert m.test_loss(theta) != pytest.approx(m.loss(theta), rel=1e-3)
