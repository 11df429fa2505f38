"""The Fokker-Planck solver against closed forms and against simulation."""
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

import landscape_sde as lsde
from analysis import stationary as st
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from landscape_sde.noise import batch_noise_factor
from models import DoubleWell, LinearRegression, Quadratic

H = np.array([[1.0, 0.4], [0.4, 2.0]])
C = np.array([[1.0, -0.3], [-0.3, 0.5]])


def _moments(grid, p):
    x = grid.centers()
    w = np.ravel(p) * grid.cell_volume
    mean = w @ x
    return mean, (x - mean).T @ ((x - mean) * w[:, None])


def test_exact_discrete_boltzmann_and_conservation():
    # Potential drift, constant T: the Scharfetter-Gummel fluxes vanish exactly on exp(−L/T).
    grid = Grid([-2.5, -2.0], [2.5, 2.0], (64, 48))
    model = DoubleWell()
    fp = FokkerPlanck.from_model(model, lsde.Langevin(1e-3, 0.3), grid)
    p = fp.stationary()
    L = lsde.fields.losses(model, grid.centers()).reshape(grid.shape)
    boltzmann = np.exp(-(L - L.min()) / 0.3)
    boltzmann /= grid.integrate(boltzmann)
    assert np.abs(p - boltzmann).max() < 1e-12 * boltzmann.max()
    report = fp.report(p)
    assert report["mass_error"] < 1e-12 and report["min_density"] >= 0
    assert report["max_flux"] < 1e-12
    colsum = np.abs(np.asarray(fp.operator.sum(axis=0))).max()
    assert colsum < 1e-14 * np.abs(fp.operator.diagonal()).max() * grid.n_cells ** 0.5


def test_mass_conserved_for_any_coefficients():
    # Non-gradient drift, full state-dependent tensor, periodic and reflecting axes.
    grid = Grid([0, -2], [2 * np.pi, 2], (40, 30), boundary=("periodic", "reflecting"))
    def diffusion(x):
        d = np.empty((x.shape[0], 2, 2))
        d[:, 0, 0] = 0.5 + 0.2 * np.cos(x[:, 0])
        d[:, 1, 1] = 0.4 + 0.1 * x[:, 1] ** 2
        d[:, 0, 1] = d[:, 1, 0] = 0.1 * np.sin(x[:, 0])
        return d
    fp = FokkerPlanck(grid, diffusion, drift=lambda x: np.stack([1 + 0 * x[:, 0], -x[:, 1]], 1))
    p0 = np.exp(-grid.centers()[:, 1] ** 2) * (1 + 0.5 * np.sin(grid.centers()[:, 0]))
    p0 /= grid.integrate(p0)
    pt = fp.evolve(p0, [0.5, 2.0])
    for p in pt:
        assert abs(fp.mass(p) - 1) < 1e-12
    ps = fp.stationary()
    assert fp.report(ps)["mass_error"] < 1e-12 and ps.min() > -1e-14
    assert fp.report(ps)["max_flux"] > 0.1  # a non-gradient drift keeps a circulating flux


def _itô_density_1d(x, drift, diff):
    """Exact zero-flux stationary density of ∂_x(a p − ∂_x(D p)) = 0: (1/D) exp(∫ a/D)."""
    xf = np.linspace(x[0] - 1, x[-1] + 1, 200_001)
    phi = scipy.integrate.cumulative_trapezoid(drift(xf) / diff(xf), xf, initial=0)
    return np.interp(x, xf, np.exp(phi - phi.max()) / diff(xf))


def test_second_order_convergence_with_state_dependent_diffusion():
    # a = −L', L = x²/2 + 0.3 sin 2x; D = 0.5 + 0.2 cos x; box [−5, 5] (density ~1e-8 at the
    # faces). Here exp(−L/T) is not a discrete steady state, so the error measures the order.
    L = lambda x: 0.5 * x**2 + 0.3 * np.sin(2 * x)  # noqa: E731
    a = lambda x: -(x + 0.6 * np.cos(2 * x))  # noqa: E731
    D = lambda x: 0.5 + 0.2 * np.cos(x)  # noqa: E731
    errors, wrong = [], []
    for n in (50, 100, 200, 400):
        grid = Grid([-5.0], [5.0], (n,))
        fp = FokkerPlanck(grid, lambda pts: D(pts[:, 0]), potential=lambda pts: L(pts[:, 0]))
        p = fp.stationary().ravel()
        x = grid.axes()[0]
        exact = _itô_density_1d(x, a, D)
        exact /= grid.integrate(exact)
        errors.append(grid.integrate(np.abs(p - exact)))
        # negative control: ∂_x(a p − D ∂_x p) = 0, the non-Itô form, has p ∝ exp(∫ a/D)
        other = exact * D(x)
        wrong.append(grid.integrate(np.abs(p - other / grid.integrate(other))))
    slopes = -np.diff(np.log2(errors))
    assert np.all((slopes > 1.8) & (slopes < 2.2)), slopes
    assert min(wrong) > 100 * errors[-1]


def test_anisotropic_ou_against_lyapunov_and_gap():
    # SME on a quadratic: constant anisotropic D = (η/2) c_b C. Stationary covariance solves
    # HS + SH = 2D; the spectral gap of an OU process is λ_min(H). Grid error O(h²) ~ 1e-3.
    model = Quadratic(H, C, n_samples=8)
    grid = Grid([-1.5, -1.2], [1.5, 1.2], (96, 96))
    fp = FokkerPlanck.from_model(model, lsde.SME(0.3, 2), grid)
    p = fp.stationary()
    mean, cov = _moments(grid, p)
    D = 0.15 * batch_noise_factor(8, 2) * C
    np.testing.assert_allclose(cov, st.continuous_lyapunov(H, D), rtol=2e-3, atol=2e-5)
    np.testing.assert_allclose(mean, 0, atol=1e-10)
    assert p.min() > -1e-14
    assert fp.relaxation_rate() == pytest.approx(np.linalg.eigvalsh(H).min(), rel=5e-3)


def test_time_dependent_ou_density():
    # From a Gaussian at m0 with covariance S0: mean e^{−Ht} m0, covariance
    # S∞ + e^{−Ht} (S0 − S∞) e^{−Hᵀt}; expm and Crank-Nicolson both.
    T = 0.2
    grid = Grid([-2.0, -2.0], [2.0, 2.0], (80, 80))
    fp = FokkerPlanck(grid, T, potential=lambda x: 0.5 * np.einsum("mi,ij,mj->m", x, H, x))
    x = grid.centers()
    m0, S0 = np.array([0.8, -0.5]), 0.05 * np.eye(2)
    d = x - m0
    p0 = np.exp(-0.5 * np.einsum("mi,ij,mj->m", d, np.linalg.inv(S0), d))
    p0 /= grid.integrate(p0)
    S_inf = T * np.linalg.inv(H)
    for method in ("expm", "crank-nicolson"):
        pts = fp.evolve(p0, [0.5, 1.5], method=method, dt=0.005)
        for t, p in zip([0.5, 1.5], pts):
            E = scipy.linalg.expm(-H * t)
            mean, cov = _moments(grid, p)
            np.testing.assert_allclose(mean, E @ m0, atol=2e-3)
            np.testing.assert_allclose(cov, S_inf + E @ (S0 - S_inf) @ E.T, atol=2e-3)


def test_continuum_fluctuation_dissipation():
    # ⟨θ_i ∂_j L + θ_j ∂_i L⟩ = 2⟨D_ij⟩ at stationarity, for any L and any D: here the SME of
    # linear regression, whose D(θ) is a full, state-dependent tensor. The grid resolves the
    # peak (width ~0.04, h = 0.008; the density at the box faces is 1e-6 of the peak): on
    # under-resolved grids (h ≳ the width) the cross terms can make the density negative,
    # which the solver's report exposes.
    model = LinearRegression.teacher_student(16, 2, noise=0.5, rng=1)
    scheme = lsde.SME(0.1, 2)
    c = model.minimizer()
    grid = Grid(c - 0.5, c + 0.5, (120, 120))
    fp = FokkerPlanck.from_model(model, scheme, grid)
    p = fp.stationary()
    w = p.ravel() * grid.cell_volume
    x = grid.centers() - c  # the identity holds for θ − any constant; centring helps accuracy
    g = lsde.fields.gradients(model, grid.centers())
    lhs = np.einsum("m,mi,mj->ij", w, x, g)
    lhs = lhs + lhs.T
    rhs = 2 * np.einsum("m,mij->ij", w, lsde.fields.diffusion_of(model, scheme, grid.centers()))
    np.testing.assert_allclose(lhs, rhs, rtol=2e-3, atol=2e-3 * np.abs(rhs).max())
    assert fp.report(p)["min_density"] > -1e-14
    # negative control: the relation with D replaced by its value at the minimum fails
    d_star = lsde.fields.diffusion_of(model, scheme, c[None])[0]
    assert np.abs(lhs - 2 * d_star).max() > 10 * 2e-3 * np.abs(rhs).max()


@pytest.mark.slow
def test_stationary_density_against_sme_ensemble():
    # Same model object, two methods: the FP stationary density and 40,000 independent SME
    # replicas (dt = η/10, its O(dt) bias far below the sampling error). Compared on a coarse
    # 12 × 12 histogram: the total-variation distance must lie within the 99.9th percentile of
    # TV distances of multinomial samples from the FP probabilities themselves (sampling error
    # alone); Langevin at the temperature of equal mean loss must fall far outside it.
    model = LinearRegression.teacher_student(16, 2, noise=0.5, rng=1)
    lr, b = 0.1, 2
    scheme = lsde.SME(lr, b, dt=lr / 10)
    c = model.minimizer()
    grid = Grid(c - 0.8, c + 0.8, (96, 96))
    p = FokkerPlanck.from_model(model, scheme, grid).stationary()
    coarse = p.reshape(12, 8, 12, 8).sum(axis=(1, 3)) * grid.cell_volume
    n = 40_000
    ens = lsde.simulate(model, scheme, c, n_steps=3000, n_replicas=n, save_every=3000, rng=5)
    edges = [np.linspace(c[i] - 0.8, c[i] + 0.8, 13) for i in range(2)]

    def tv(samples):
        hist, *_ = np.histogram2d(samples[:, 0], samples[:, 1], bins=edges)
        return 0.5 * np.abs(hist / len(samples) - coarse / coarse.sum()).sum()

    gen = np.random.default_rng(0)
    null = [0.5 * np.abs(gen.multinomial(n, (coarse / coarse.sum()).ravel()) / n
                         - (coarse / coarse.sum()).ravel()).sum() for _ in range(2000)]
    assert tv(ens.theta[-1]) < np.quantile(null, 0.999)
    mean_loss = np.mean(ens.loss[-1]) - model.loss(c)
    wrong = lsde.simulate(model, lsde.Langevin(lr / 10, mean_loss), c, n_steps=3000,
                          n_replicas=n, save_every=3000, rng=6)
    assert tv(wrong.theta[-1]) > 3 * np.quantile(null, 0.999)
