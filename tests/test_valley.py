"""Degenerate minima: the valley models, the effective SGD-loss and the four claims of
Yang, Tang & Tu, each checked against theory and between the Fokker-Planck
solver and simulation; the product network's drift to the flattest minimum."""
import numpy as np
import pytest
import sympy as sp

import landscape_sde as lsde
from analysis import effective_loss as el
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from landscape_sde.noise import batch_noise_factor
from models import FiniteSumValley, ProductNetwork, ScalarProductNetwork, Valley

GRID = Grid([0, -0.6], [2 * np.pi, 0.6], (64, 96), boundary=("periodic", "reflecting"))
FLOOR = slice(47, 49)  # the two y-cells next to the valley floor y = 0


def _floor_sgd_loss(model, scheme, delta, grid=GRID):
    fp = FokkerPlanck.from_model(model, scheme, grid)
    p = fp.stationary()
    L = lsde.fields.losses(model, grid.centers()).reshape(grid.shape)
    ls = el.sgd_loss(p, grid, L, delta)[:, FLOOR].mean(axis=1)
    return ls - ls.min(), fp, p


def test_valley_kernels_and_noise():
    v = Valley(delta=0.02, kappa=3.0, alpha=0.5)
    theta = np.array([0.7, 0.3])
    lam = 1 + 0.5 * np.cos(0.7)
    assert v.loss(theta) == pytest.approx(0.5 * lam * 0.09)
    np.testing.assert_allclose(v.diffusion(theta), [0.02 / 3, 0.02 + 0.5 * v.loss(theta)])
    out = np.empty(2)
    v.compiled("diffusion")(theta, v.data, out)
    np.testing.assert_allclose(out, v.diffusion(theta), rtol=1e-14)
    with pytest.raises(ValueError, match="lam"):
        Valley(sp.Symbol("z") ** 2)
    with pytest.raises(ValueError, match="AnisotropicLangevin"):
        lsde.simulate(FiniteSumValley(), lsde.AnisotropicLangevin(0.1), [0, 0], n_steps=2)


def test_finite_sum_valley_has_the_valley_loss_and_anisotropic_noise():
    fv = FiniteSumValley(sigma_x=0.5, sigma_y=1.0, sigma_r=0.3, n_samples=16)
    pts = np.array([[0.3, 0.0], [1.2, 0.4]])
    for p in pts:
        assert fv.loss(p) == pytest.approx(0.5 * fv.curvature(p[0]) * p[1] ** 2, abs=1e-14)
    C = lsde.fields.sample_covariances(fv, pts)
    np.testing.assert_allclose(C[0], np.diag([0.25, 1.0]), atol=1e-12)  # on the floor
    lam = fv.curvature(1.2)
    assert C[1, 1, 1] == pytest.approx(1.0 + 2 * lam * 0.09 * fv.loss(pts[1]), rel=1e-12)
    delta, kappa, alpha = fv.sme_parameters(0.1, 4, x=1.2)
    assert delta == pytest.approx(0.05 * batch_noise_factor(16, 4))
    assert kappa == pytest.approx(4.0) and alpha == pytest.approx(0.1 * batch_noise_factor(16, 4) * lam * 0.09)


@pytest.mark.parametrize("kappa", [1.0, 4.0])
def test_claim1_sgd_loss_decreases_with_flatness(kappa):
    # Adiabatic theory: L_SGD = −(κ − 1) Δ ln F. Non-adiabatic corrections are O(Δ/(κ λ)),
    # here ~1%: tolerance 2% of the profile's range. κ = 1 (isotropic noise): no L_SGD at all.
    v = Valley(delta=0.01, kappa=kappa)
    ls, _, _ = _floor_sgd_loss(v, lsde.AnisotropicLangevin(0.01), v.delta)
    x = GRID.axes()[0]
    theory = el.adiabatic_sgd_loss(v.flatness(x), v.delta, kappa)
    if kappa == 1.0:
        assert np.abs(ls).max() < 1e-12
    else:
        assert np.abs(ls - theory).max() < 0.02 * theory.max()
        order = np.argsort(v.flatness(x))
        assert np.all(np.diff(ls[order][::4]) < 0)  # flatter -> lower effective loss


def test_claim2_strength_grows_with_lr_and_smaller_batches():
    # SGD's own noise: the SME of SGD(η, b) on the finite-sum valley. L_SGD ∝ Δ = (η/2) c_b σ_y².
    fv = FiniteSumValley(sigma_x=0.5, sigma_y=1.0, n_samples=16)
    amplitude = {}
    for lr, b in ((0.1, 4), (0.2, 4), (0.1, 2)):
        delta, _, _ = fv.sme_parameters(lr, b)
        ls, _, _ = _floor_sgd_loss(fv, lsde.SME(lr, b), delta)
        amplitude[lr, b] = ls.max()
        theory = el.adiabatic_sgd_loss(fv.flatness(GRID.axes()[0]), delta, 4.0)
        assert ls.max() == pytest.approx(theory.max(), rel=0.03)
    c = {b: batch_noise_factor(16, b) for b in (2, 4)}
    assert amplitude[0.2, 4] / amplitude[0.1, 4] == pytest.approx(2.0, rel=0.02)
    assert amplitude[0.1, 2] / amplitude[0.1, 4] == pytest.approx(c[2] / c[4], rel=0.02)


def test_claim3_relaxation_rate_grows_with_noise():
    # The spectral gap of the FP operator is proportional to Δ: convergence time ∝ 1/Δ.
    rates = [FokkerPlanck.from_model(Valley(delta=d, kappa=4.0), lsde.AnisotropicLangevin(0.01),
                                     GRID).relaxation_rate() / d for d in (0.005, 0.01, 0.02)]
    assert np.ptp(rates) < 0.01 * np.mean(rates)


def test_fokker_planck_and_ensemble_agree_on_the_valley():
    # Same model object, two methods, time evolution and stationary marginal along x.
    # From x = 0 (the sharpest point), ⟨cos x⟩(t) relaxes towards the flat side (cos x → −1);
    # 4000 replicas give a standard error ≤ 0.012 on ⟨cos x⟩; tolerance 4 standard errors.
    v = Valley(delta=0.05, kappa=4.0)
    scheme = lsde.AnisotropicLangevin(0.02)
    grid = Grid([-np.pi, -1.0], [np.pi, 1.0], (64, 80), boundary=("periodic", "reflecting"))
    fp = FokkerPlanck.from_model(v, scheme, grid)
    x = grid.centers()
    p0 = np.exp(-0.5 * (x[:, 0] / 0.05) ** 2 - 0.5 * x[:, 1] ** 2 / 0.05)
    p0 /= grid.integrate(p0)
    times = np.array([20.0, 60.0, 150.0])
    pt = fp.evolve(p0, times)
    cos_fp = [grid.integrate(p.ravel() * np.cos(x[:, 0])) for p in pt]
    start = np.column_stack([0.05 * np.random.default_rng(1).standard_normal(4000),
                             np.sqrt(0.05) * np.random.default_rng(2).standard_normal(4000)])
    ens = lsde.simulate(v, scheme, start, n_steps=7500, n_replicas=4000,
                        save_at=(times / 0.02).astype(int), rng=3)
    c = np.cos(ens.theta[:, :, 0])
    se = c.std(axis=1) / np.sqrt(4000)
    assert np.all(np.abs(c.mean(axis=1) - cos_fp) < 4 * se + 5e-3)  # + FP and O(dt) error
    assert cos_fp[0] - cos_fp[-1] > 20 * se.max()  # the relaxation itself is resolved


def test_claim4_noise_bound_for_loss_dependent_noise():
    # D_y = D0 + α L on λ = 1: ⟨L⟩ = D0/(2 − α) (the reflecting box adds a boundary term that
    # decays like the tail, p ~ y^(−2−2/α); box ±3 makes it < 0.2% at α = 0.5).
    for alpha in (0.0, 0.5):
        v = Valley(sp.Integer(1), delta=0.01, kappa=4.0, alpha=alpha)
        g = Grid([0, -3.0], [2 * np.pi, 3.0], (4, 400), boundary=("periodic", "reflecting"))
        p = FokkerPlanck.from_model(v, lsde.AnisotropicLangevin(0.01), g).stationary()
        mean_loss = g.integrate(p.ravel() * lsde.fields.losses(v, g.centers()))
        assert mean_loss == pytest.approx(el.loss_dependent_mean_loss(0.01, alpha), rel=2e-3)
    # Past the bound (α = 2.5) no second moment exists: ⟨L⟩ grows without limit with the box
    # (the tail p ~ y^(−2.8) adds ~Y^0.2); below it (α = 0.5) it has converged.
    def box_mean_loss(alpha, half):
        v = Valley(sp.Integer(1), delta=0.01, kappa=4.0, alpha=alpha)
        g = Grid([0, -half], [2 * np.pi, half], (4, 1200), boundary=("periodic", "reflecting"))
        p = FokkerPlanck.from_model(v, lsde.AnisotropicLangevin(0.01), g).stationary()
        return g.integrate(p.ravel() * lsde.fields.losses(v, g.centers()))
    assert box_mean_loss(2.5, 30.0) > 1.5 * box_mean_loss(2.5, 3.0)
    assert box_mean_loss(0.5, 30.0) == pytest.approx(box_mean_loss(0.5, 3.0), rel=5e-3)
    assert el.loss_dependent_mean_loss(0.01, 2.5) == np.inf


def _loss_dependent_valley(lr, alpha):
    """Finite-sum valley with λ = 1 whose SGD(lr, b = 1) has loss-dependent noise α."""
    return FiniteSumValley(sp.Integer(1), sigma_x=1e-3, sigma_y=1.0,
                           sigma_r=np.sqrt(alpha / lr), n_samples=16)


def _mean_and_se(x):
    return x.mean(), x.std() / np.sqrt(x.size)  # empirical: the tails are heavy


@pytest.mark.slow
def test_discrete_sgd_diverges_before_the_sme_bound():
    # ⟨L⟩ = D0/(2 − α) for the SME, D0/(2 − ηλ − α) for discrete SGD (λ = 1, b = 1, c_b = 1).
    # Stable point α = 0.6, η = 0.5: the two predictions differ by 55%; each ensemble must match
    # its own within 4 (empirical) standard errors and miss the other's.
    lr = 0.5
    fv = _loss_dependent_valley(lr, 0.6)
    d0, _, alpha = fv.sme_parameters(lr, 1)
    sgd = lsde.simulate(fv, lsde.SGD(lr, 1), [0.0, 0.0], n_steps=300, n_replicas=40_000,
                        save_every=300, rng=1)
    sme = lsde.simulate(fv, lsde.SME(lr, 1, dt=lr / 10), [0.0, 0.0], n_steps=3000,
                        n_replicas=20_000, save_every=3000, rng=2)
    pred_sgd = el.loss_dependent_mean_loss(d0, alpha, lr_curvature=lr)
    pred_sme = el.loss_dependent_mean_loss(d0, alpha)
    m, se = _mean_and_se(sgd.loss[-1])
    assert abs(m - pred_sgd) < 4 * se and abs(m - pred_sme) > 8 * se
    m, se = _mean_and_se(sme.loss[-1])
    assert abs(m - pred_sme) < 4 * se + 0.08 * pred_sme  # + the O(dt) bias of dt = η/10
    # Between the bounds (α = 1.7, α + ηλ = 2.2): the SME has a finite ⟨L⟩, SGD has none. Paths
    # stay finite (almost-sure stability is weaker than mean-square), but the ensemble mean
    # loss sits orders of magnitude above the SME's.
    fv = _loss_dependent_valley(lr, 1.7)
    d0, _, alpha = fv.sme_parameters(lr, 1)
    sgd = lsde.simulate(fv, lsde.SGD(lr, 1), [0.0, 0.0], n_steps=2000, n_replicas=4000,
                        save_every=2000, rng=3)
    assert np.mean(sgd.loss[-1]) > 20 * el.loss_dependent_mean_loss(d0, alpha)


def test_product_network_sgd_drifts_to_the_flattest_minimum():
    # One SGD step multiplies w1² − w2² by 1 − η² e_B² exactly (e_B: batch mean of
    # (w1 w2 x − y) x): GD conserves it at a minimum, SGD shrinks it at ~η² c_b Var(e) per step.
    net = ProductNetwork(rng=0)
    w0 = net.valley_point(2.0)
    gd = lsde.simulate(net, lsde.GD(0.05), w0, n_steps=2000, n_replicas=1)
    d_gd = gd.theta[:, 0, 0] ** 2 - gd.theta[:, 0, 1] ** 2
    assert abs(d_gd[-1] - d_gd[0]) < 1e-6 * abs(d_gd[0])
    rates = {}
    for lr, b in ((0.05, 4), (0.1, 4), (0.05, 16)):
        ens = lsde.simulate(net, lsde.SGD(lr, b), w0, n_steps=400, n_replicas=500, save_every=400, rng=1)
        d = ens.theta[:, :, 0] ** 2 - ens.theta[:, :, 1] ** 2
        rates[lr, b] = -np.log(np.mean(d[-1]) / d[0, 0]) / 400
        g = net.sample_grads(w0)  # per-sample gradients at the start: e_n w2, e_n w1
        e = g[:, 0] / w0[1]
        predicted = lr**2 * batch_noise_factor(net.n_samples, b) * np.var(e)
        assert rates[lr, b] == pytest.approx(predicted, rel=0.35)  # e varies along the path
    assert rates[0.1, 4] / rates[0.05, 4] == pytest.approx(4.0, rel=0.2)
    c = batch_noise_factor(net.n_samples, 4) / batch_noise_factor(net.n_samples, 16)
    assert rates[0.05, 4] / rates[0.05, 16] == pytest.approx(c, rel=0.2)


def test_product_network_valley_geometry():
    # On the hyperbola of minima the Hessian is the Gauss-Newton term m2 (w2, w1)(w2, w1)ᵀ: the
    # residual term is mean(r_n x_n)·[[0, 1], [1, 0]], and mean(r_n x_n) = 0 is the gradient
    # condition itself. Compared with the exact (lambdify) Hessian there.
    net = ProductNetwork(rng=0)
    for w1 in (0.5, 1.0, 2.5):
        w = net.valley_point(w1)
        assert w[0] * w[1] == pytest.approx(net.product)
        assert abs(net.grad(w)).max() < 1e-12
        assert net.valley_sharpness(w) == pytest.approx(np.linalg.eigvalsh(net.hessian(w))[-1], rel=1e-10)


def test_scalar_product_network():
    m = ScalarProductNetwork(depth=3)
    w = np.array([1.2, 0.9, 1.1])
    assert m.loss(w) == pytest.approx(0.5 * (np.prod(w) - 1) ** 2)
    np.testing.assert_allclose(m.grad(w), (np.prod(w) - 1) * np.prod(w) / w, rtol=1e-13)


def test_position_dependent_noise_marginal():
    # λ = 1 + x²/4 on a non-periodic valley with D_x = 0.004 (1 + 0.3 x²), D_y = 0.01 (1 +
    # 0.5 sin x): p(x) ∝ D_x⁻¹ exp(−∫ λ' D_y / (2 λ D_x)) (adiabatic; corrections ~D/λ ~1%).
    x, y = sp.symbols("x y")
    lam = 1 + x**2 / 4
    d_x, d_y = 0.004 * (1 + 0.3 * x**2), 0.01 * (1 + 0.5 * sp.sin(x))
    model = lsde.symbolic.potential(lam * y**2 / 2, [x, y], diffusion=[d_x, d_y])
    grid = Grid([-3.0, -0.5], [3.0, 0.5], (120, 100))
    fp = FokkerPlanck.from_model(model, lsde.AnisotropicLangevin(0.01), grid)
    px = grid.marginal(fp.stationary(), 0)
    xs = grid.axes()[0]
    f = lambda e: sp.lambdify(x, e, "numpy")  # noqa: E731
    theory = el.adiabatic_marginal(xs, f(lam), f(sp.diff(lam, x)), f(d_x), f(d_y))
    assert np.abs(px - theory).max() < 0.03 * theory.max()
    # negative control: the constant-noise law F^κ with the average κ is visibly wrong
    kappa = np.mean(f(d_y)(xs) / f(d_x)(xs))
    const = f(lam)(xs) ** (-kappa / 2)
    const /= np.trapezoid(const, xs)
    assert np.abs(px - const).max() > 0.2 * theory.max()
    # the same diffusion given as values at the cell centres: faces averaged, O(h²) apart
    d_cells = lsde.fields.diffusion_of(model, lsde.AnisotropicLangevin(0.01), grid.centers())
    fp_arr = FokkerPlanck(grid, d_cells, potential=lsde.fields.losses(model, grid.centers()))
    assert np.abs(grid.marginal(fp_arr.stationary(), 0) - px).max() < 0.01 * px.max()
