"""Curvature spectra with error bars: stochastic Lanczos quadrature against the Marchenko-Pastur
law and exact eigenvalues, Hutchinson's trace and diagonal against dense matrices and against
their closed-form variances, per-block traces, Gauss-Newton and empirical-Fisher operators."""
import numpy as np
import pytest

import landscape_sde as lsde
from analysis.curvature import (CurvatureOperator, hessian_diag, hessian_trace,
                                hutchinson_variance, marchenko_pastur, spectral_density,
                                spectrum_tracker, tracker, wasserstein_1)
from models import LinearRegression, Quadratic, TanhNetwork
from models.deep_linear import DeepLinearNetwork


def _empirical_cdf(values):
    values = np.sort(values)
    return lambda x: np.searchsorted(values, x, side="right") / values.size


@pytest.fixture(scope="module")
def linreg():
    # d = 400 Gaussian inputs, N = 1600 samples: H = XᵀX/N follows Marchenko-Pastur, r = 1/4
    return LinearRegression.teacher_student(1600, 400, rng=0)


def test_marchenko_pastur_law():
    # the reference itself: total mass, first two moments (1 and 1 + r), atom for r > 1
    for r in (0.25, 2.0):
        density, cdf = marchenko_pastur(r)
        lam = np.linspace(1e-9, (1 + np.sqrt(r)) ** 2, 200001)
        mass = np.trapezoid(density(lam), lam)
        assert mass == pytest.approx(min(1.0, 1 / r), abs=1e-4)
        assert np.trapezoid(lam * density(lam), lam) == pytest.approx(1.0, abs=1e-4)
        assert np.trapezoid(lam**2 * density(lam), lam) == pytest.approx(1 + r, abs=1e-3)
        assert cdf(lam[-1] + 1) == pytest.approx(1.0)
        assert cdf(0.0) == pytest.approx(max(0.0, 1 - 1 / r))


def test_full_batch_spectrum_is_marchenko_pastur(linreg):
    sd = spectral_density(linreg, np.zeros(400), n_probes=10, n_lanczos=80, rng=0)
    assert sd.nodes.shape == sd.weights.shape == (10, 80)
    np.testing.assert_allclose(sd.weights.sum(axis=1), 1.0, rtol=1e-12)
    _, mp = marchenko_pastur(0.25)
    exact = _empirical_cdf(np.linalg.eigvalsh(linreg.hessian(None)))
    # Tolerance 0.03 = 1.5% of the support width 2: an m-point Gauss quadrature resolves the CDF
    # to about a node spacing (2/80 = 0.025; pooling 10 probes interleaves their nodes, measured
    # 0.010). The finite-size distance of the exact eigenvalues from the law is 0.004.
    assert wasserstein_1(sd.cdf, mp, -0.5, 3.5) < 0.03
    assert wasserstein_1(sd.cdf, exact, -0.5, 3.5) < 0.03
    assert wasserstein_1(exact, mp, -0.5, 3.5) < 0.01
    # negative control: the law of another aspect ratio is far away (measured 0.3)
    assert wasserstein_1(sd.cdf, marchenko_pastur(0.5)[1], -0.5, 4.5) > 0.1
    # the first moment is Hutchinson's trace with the same probes: tr H within 4 standard errors
    value, se = sd.trace()
    assert abs(value - np.trace(linreg.hessian(None))) < 4 * se


def test_minibatch_spectrum_is_the_batch_law(linreg):
    # b = 200 < d: H_B = X_BᵀX_B/b is Marchenko-Pastur with r = d/b = 2, half its mass at 0
    batch = np.arange(200)
    sd = spectral_density(linreg, np.zeros(400), n_probes=10, n_lanczos=80, rng=1, batch=batch)
    # tolerance 0.05 = 1% of the support width 5.8 (same reasoning; measured 0.022)
    assert wasserstein_1(sd.cdf, marchenko_pastur(2.0)[1], -0.5, 7.0) < 0.05
    assert sd.cdf(1e-6) == pytest.approx(0.5, abs=0.03)  # the atom: rank b of d
    # negative control: the full-batch law does not describe the mini-batch spectrum
    assert wasserstein_1(sd.cdf, marchenko_pastur(0.25)[1], -0.5, 7.0) > 0.5
    full = CurvatureOperator(linreg, np.zeros(400), batch=np.arange(1600))
    v = np.random.default_rng(0).standard_normal(400)
    np.testing.assert_allclose(full.matvec(v), linreg.hessian(None) @ v, rtol=1e-10)


def test_full_krylov_space_gives_the_exact_eigenvalues():
    # n_lanczos = dim: every probe's nodes are the eigenvalues and its weights the squared
    # overlaps, so the quadrature integrates every polynomial exactly
    gen = np.random.default_rng(3)
    Q, _ = np.linalg.qr(gen.standard_normal((12, 12)))
    lam = np.linspace(-1.0, 5.0, 12)
    model = Quadratic(Q @ np.diag(lam) @ Q.T)
    sd = spectral_density(model, np.zeros(12), n_probes=3, n_lanczos=12, rng=0)
    np.testing.assert_allclose(sd.nodes, np.tile(lam, (3, 1)), atol=1e-10)
    H = model.hessian_matrix
    # a low-rank operator ends the Krylov space early: zero weights pad the shape
    low = Quadratic(Q[:, :3] @ np.diag([1.0, 2.0, 3.0]) @ Q[:, :3].T)
    sd_low = spectral_density(low, np.zeros(12), n_probes=2, n_lanczos=8, rng=0)
    assert sd_low.nodes.shape == (2, 8)
    np.testing.assert_allclose(sd_low.weights.sum(axis=1), 1.0)
    assert np.all(sd_low.weights[:, 4:] == 0.0)
    # moments against qᵀHᵖq/‖q‖² for one probe of a fresh run with the same seed
    z = np.random.default_rng(0).integers(0, 2, size=12) * 2.0 - 1.0
    for p in range(1, 5):
        want = z @ np.linalg.matrix_power(H, p) @ z / (z @ z)
        assert np.sum(sd.weights[0] * sd.nodes[0] ** p) == pytest.approx(want, rel=1e-9)


def test_outliers_are_separated_from_the_bulk():
    # three input directions with variance 9, 16, 25 on top of an isotropic bulk: three outlier
    # eigenvalues beyond the Marchenko-Pastur edge (1 + √r)² = 2.25
    gen = np.random.default_rng(4)
    X = gen.standard_normal((1600, 400))
    X[:, :3] *= [3.0, 4.0, 5.0]
    spiked = LinearRegression(X, np.zeros(1600))
    sd = spectral_density(spiked, np.zeros(400), n_probes=6, n_lanczos=60, rng=0, n_outliers="auto")
    exact = np.linalg.eigvalsh(spiked.hessian(None))[::-1]
    assert sd.outliers.size == 3
    np.testing.assert_allclose(sd.outliers, exact[:3], rtol=1e-7)
    assert np.all(sd.nodes[sd.weights > 1e-8] < 2.6)  # the bulk is deflated of them
    grid = np.linspace(-1, 30, 3101)
    bulk, se = sd.density(grid, 0.05, outliers=False)
    total, _ = sd.density(grid, 0.05)
    assert np.trapezoid(bulk, grid) == pytest.approx(397 / 400, abs=1e-3)
    assert np.trapezoid(total, grid) == pytest.approx(1.0, abs=1e-3)
    assert np.all(se >= 0) and se.max() > 0
    # negative control: the unspiked law has no outlier
    iso = LinearRegression(gen.standard_normal((1600, 400)), np.zeros(1600))
    assert spectral_density(iso, np.zeros(400), n_probes=2, n_lanczos=10, rng=0,
                            n_outliers="auto").outliers.size == 0


def test_hutchinson_variance_matches_its_closed_form():
    # a matrix with a large diagonal: Rademacher probes do not see it, Gaussian probes do
    gen = np.random.default_rng(5)
    B = gen.standard_normal((30, 30)) / 6
    A = B + B.T + np.diag(np.linspace(1.0, 4.0, 30))
    model = Quadratic(A)
    n = 4000
    for probes in ("rademacher", "gaussian"):
        est = hessian_trace(model, np.zeros(30), n_probes=n, rng=1, probes=probes)
        var_tr, _ = hutchinson_variance(A, probes)
        s = est.samples
        # the sample variance of n i.i.d. draws has standard error √((μ₄ − σ⁴)/n) (fourth
        # central moment estimated from the same draws): within 4 of them
        se_var = np.sqrt((np.mean((s - s.mean()) ** 4) - s.var() ** 2) / n)
        assert abs(s.var(ddof=1) - var_tr) < 4 * se_var
        assert abs(est.value - np.trace(A)) < 4 * est.se
        assert est.se == pytest.approx(np.sqrt(var_tr / n), rel=0.1)
    # negative control: Gaussian probes' variance is not the Rademacher formula (by > 20 SE)
    rad, _ = hutchinson_variance(A, "rademacher")
    gauss = hessian_trace(model, np.zeros(30), n_probes=n, rng=1, probes="gaussian").samples
    se_var = np.sqrt((np.mean((gauss - gauss.mean()) ** 4) - gauss.var() ** 2) / n)
    assert gauss.var(ddof=1) - rad > 20 * se_var
    # the diagonal: per-coordinate variance Σ_{j≠i} A_ij² against the standard errors
    diag = hessian_diag(model, np.zeros(30), n_probes=n, rng=2)
    _, var_diag = hutchinson_variance(A, "rademacher")
    np.testing.assert_allclose(diag.se**2 * n, var_diag, rtol=0.15)  # √(2/n)·3 ≈ 7%, with room
    assert np.all(np.abs(diag.value - np.diag(A)) < 4.5 * diag.se)
    # exact for a diagonal matrix: zero variance, zero error
    d = hessian_diag(Quadratic(np.diag([1.0, 2.0, 3.0])), np.zeros(3), n_probes=2, rng=0)
    np.testing.assert_allclose(d.value, [1, 2, 3], rtol=1e-14)
    assert np.all(d.se == 0)


SMALL = {
    "deep-linear": lambda: DeepLinearNetwork.teacher_student([3, 5, 4, 2], 12, noise=0.3, rng=1),
    "tanh": lambda: TanhNetwork.chebyshev(width=8, degree=3, n_samples=10),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_trace_diag_and_blocks_against_dense(name):
    model = SMALL[name]()
    theta = model.init(rng=0)
    H = model.hessian(theta)
    op = CurvatureOperator(model, theta)
    np.testing.assert_allclose(op.dense(), 0.5 * (H + H.T), rtol=1e-9, atol=1e-12)
    est = hessian_trace(model, theta, n_probes=400, rng=0)
    assert abs(est.value - np.trace(H)) < 4 * est.se
    blocks = model.parameter_blocks()
    assert list(est.blocks) == list(blocks)
    # the blocks sum to the total probe by probe, and each estimates its block's trace
    np.testing.assert_allclose(sum(b.samples for b in est.blocks.values()), est.samples, rtol=1e-12)
    for b, sl in blocks.items():
        assert abs(est.blocks[b].value - np.trace(H[sl, sl])) < 4 * est.blocks[b].se + 1e-12
        block_op = CurvatureOperator(model, theta, block=b)
        np.testing.assert_allclose(block_op.dense(), 0.5 * (H[sl, sl] + H[sl, sl].T), rtol=1e-9,
                                   atol=1e-12)
    diag = hessian_diag(model, theta, n_probes=400, rng=1)
    assert np.all(np.abs(diag.value - np.diag(H)) <= 4.5 * diag.se + 1e-12)
    # the standard errors are honest: against the closed-form variance
    _, var = hutchinson_variance(0.5 * (H + H.T))
    np.testing.assert_allclose(diag.se**2 * 400, var, rtol=0.5, atol=1e-12)


def _interpolating(name):
    """A model whose data a known θ* fits exactly, and θ*."""
    if name == "deep-linear":
        base = DeepLinearNetwork.teacher_student([3, 5, 4, 2], 12, rng=1)
        theta = base.init(rng=2)
        return DeepLinearNetwork(base.widths, base.X, base.X @ base.product(theta).T), theta
    base = TanhNetwork.chebyshev(width=8, n_samples=10)
    theta = base.init(rng=2)
    _, _, a, s = base._parts(theta, base.x)
    return TanhNetwork(8, base.x, s @ a), theta


@pytest.mark.parametrize("name", list(SMALL))
def test_gauss_newton_and_fisher(name):
    model, theta_star = _interpolating(name)
    H = model.hessian(theta_star)
    gn = CurvatureOperator(model, theta_star, "gauss_newton").dense()
    fisher = CurvatureOperator(model, theta_star, "fisher").dense()
    # at an interpolating minimum the Gauss-Newton matrix is the Hessian, the Fisher vanishes
    np.testing.assert_allclose(gn, H, atol=1e-10 * np.abs(H).max())
    assert np.abs(fisher).max() < 1e-20
    # elsewhere: Gauss-Newton against the output Jacobian by central differences
    theta = theta_star + 0.3 * np.random.default_rng(0).standard_normal(model.dim)
    h = 1e-6
    J = np.stack([(_outputs(model, theta + h * e) - _outputs(model, theta - h * e)) / (2 * h)
                  for e in np.eye(model.dim)], axis=1)
    gn = CurvatureOperator(model, theta, "gauss_newton").dense()
    np.testing.assert_allclose(gn, J.T @ J / model.n_samples, atol=1e-7 * np.abs(gn).max())
    assert np.linalg.eigvalsh(gn).min() > -1e-10 * np.abs(gn).max()  # PSD
    G = model.sample_grads(theta)
    np.testing.assert_allclose(CurvatureOperator(model, theta, "fisher").dense(),
                               G.T @ G / model.n_samples, rtol=1e-9, atol=1e-14)
    # negative control: off the minimum the residual term makes the Hessian differ
    assert np.abs(model.hessian(theta) - gn).max() > 1e-3 * np.abs(gn).max()
    # mini-batch versions: the mean over the batch's samples
    batch = np.array([0, 3, 3, 5])
    gn_b = CurvatureOperator(model, theta, "gauss_newton", batch=batch).dense()
    Jb = J.reshape(model.n_samples, -1, model.dim)[batch].reshape(-1, model.dim)
    np.testing.assert_allclose(gn_b, Jb.T @ Jb / 4, atol=1e-7 * np.abs(gn_b).max())
    est = hessian_trace(model, theta, n_probes=200, rng=0, kind="gauss_newton")
    assert abs(est.value - np.trace(gn)) < 4 * est.se


def _outputs(model, theta):
    if isinstance(model, DeepLinearNetwork):
        return (model.X @ model.product(theta).T).ravel()
    _, _, a, s = model._parts(theta, model.x)
    return s @ a


def test_tracker_records_traces_and_spectra():
    net = DeepLinearNetwork.teacher_student([4, 6, 3], 16, noise=0.1, rng=0)
    theta0 = net.init(rng=0)
    track = tracker(net, ("hessian_trace", "hessian_trace:W1", "hessian_trace:W2",
                          "gauss_newton_trace", "sharpness"), n_probes=8, rng=0)
    grid = np.linspace(-1, 8, 50)
    spec = spectrum_tracker(net, grid, 0.2, n_probes=3, n_lanczos=10, batch_size=8, rng=0)
    ens = lsde.simulate(net, lsde.GD(0.05), theta0, n_steps=20, n_replicas=2,
                        observe={"tr": (10, track), "spec": (10, spec)})
    v = ens.observables["tr"]["values"]
    assert v.shape == (3, 2, 5)
    np.testing.assert_allclose(v[..., 1] + v[..., 2], v[..., 0], rtol=1e-12)
    assert ens.observables["spec"]["values"].shape == (3, 2, 2, 50)
    # the first observation, at θ₀, is hessian_trace with the observer's first probe seed
    est = hessian_trace(net, theta0, n_probes=8, rng=np.random.default_rng(0).integers(2**63))
    assert v[0, 0, 0] == pytest.approx(est.value)


def test_bad_arguments():
    model = Quadratic(np.eye(3))
    with pytest.raises(ValueError, match="kind"):
        CurvatureOperator(model, np.zeros(3), "newton")
    with pytest.raises(TypeError, match="gauss_newton.*Quadratic"):
        CurvatureOperator(model, np.zeros(3), "gauss_newton")
    with pytest.raises(ValueError, match="block"):
        CurvatureOperator(model, np.zeros(3), block="W1")
    with pytest.raises(ValueError, match="batch"):
        CurvatureOperator(LinearRegression(np.eye(3), np.zeros(3)), np.zeros(3), batch=[5])
    with pytest.raises(ValueError, match="n_probes"):
        hessian_trace(model, np.zeros(3), n_probes=1)
    with pytest.raises(ValueError, match="probes"):
        hessian_diag(model, np.zeros(3), n_probes=4, probes="sobol")
    with pytest.raises(ValueError, match="n_lanczos"):
        spectral_density(model, np.zeros(3), n_probes=2, n_lanczos=4)
    with pytest.raises(ValueError, match="n_outliers"):
        spectral_density(model, np.zeros(3), n_probes=2, n_lanczos=2, n_outliers=-1)
    with pytest.raises(ValueError, match="theta"):
        hessian_trace(model, np.zeros(2), n_probes=4)
    with pytest.raises(ValueError, match="quantities"):
        tracker(model, ("hessian_trace:W9",))
