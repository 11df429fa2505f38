"""Label-noise SGD: the compiled step against a NumPy reference with the same draws, the
one-step noise covariance of mini-batch label noise, and the drift along the manifold of
minima (:mod:`analysis.label_noise`) against ensembles, with negative controls."""
import numpy as np
import pytest

import landscape_sde as lsde
from analysis.label_noise import predicted_balance
from models import DiagonalLinearNetwork, LinearRegression, ProductNetwork


def _reference(model, theta0, lr, sigma, n_steps, n_replicas, seed):
    """Full-batch label-noise SGD in NumPy, reading the replica streams' normals in the
    engine's order (N per step, in sample order)."""
    N = model.n_samples
    z = lsde.rng.standard_normals(n_replicas, n_steps * N, rng=seed)
    out = np.empty((n_replicas, model.dim))
    for r in range(n_replicas):
        th = np.array(theta0, dtype=float)
        for k in range(n_steps):
            e = z[r, k * N:(k + 1) * N]
            # gradient of (1/2N) Σ (f_i − y_i − σ e_i)²
            th = th - lr * (model.grad(th) - sigma / N * model.sample_output_grads(th).T @ e)
        out[r] = th
    return out


@pytest.mark.parametrize("make", [
    lambda: LinearRegression.teacher_student(12, 3, noise=0.3, rng=1),
    lambda: DiagonalLinearNetwork.orthogonal_design([1.0, 0.5], [1.0, -0.7], rng=2),
    lambda: ProductNetwork(n_samples=6, rng=3),
], ids=["linreg", "diagonal", "product"])
def test_full_batch_matches_numpy_reference_with_same_draws(make):
    model = make()
    assert model.has_targets
    lsde.check_kernels(model)  # includes sample_output_grads against the NumPy reference
    theta0 = np.linspace(0.3, 1.2, model.dim)
    ens = lsde.simulate(model, lsde.LabelNoiseSGD(0.05, 0.4), theta0, n_steps=30, n_replicas=3,
                        rng=11)
    want = _reference(model, theta0, 0.05, 0.4, 30, 3, 11)
    np.testing.assert_allclose(ens.theta[-1], want, rtol=1e-12, atol=1e-13)
    # Negative control: fixed labels (σ = 0) are plain GD, and differ from the noisy path.
    gd = lsde.simulate(model, lsde.LabelNoiseSGD(0.05, 0.0), theta0, n_steps=30, rng=11)
    np.testing.assert_allclose(gd.theta[-1, 0], lsde.simulate(model, lsde.GD(0.05), theta0,
                                                              n_steps=30).theta[-1, 0], rtol=1e-12)
    assert np.max(np.abs(gd.theta[-1, 0] - want[0])) > 1e-3


@pytest.mark.parametrize("replace", [False, True])
def test_minibatch_label_noise_covariance(replace):
    # At an interpolating minimum every residual is zero, so one step is the label-noise kick
    # alone: Δθ = (ησ/b) Σ_{i∈B} ε_i x_i, Cov = η²σ²/b · XᵀX/N (b-subsets or i.i.d. indices).
    model = LinearRegression.teacher_student(16, 2, noise=0.0, rng=4)
    lr, sigma, b, R = 0.1, 2.0, 4, 20000
    ens = lsde.simulate(model, lsde.LabelNoiseSGD(lr, sigma, batch_size=b, replace=replace),
                        model.teacher,
                        n_steps=1, n_replicas=R, rng=5)
    d = ens.theta[-1] - model.teacher
    cov = np.cov(d.T)
    want = lr**2 * sigma**2 / b * model.X.T @ model.X / model.n_samples
    # s.e. of a sample covariance of Gaussian-like kicks: √((C_ii C_jj + C_ij²)/R)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / R)
    assert np.all(np.abs(cov - want) < 4 * se), (cov, want, se)
    assert np.all(np.abs(d.mean(0)) < 4 * np.sqrt(np.diag(cov) / R))
    # Negative control: the full-batch covariance η²σ²/N · XᵀX/N is 4x smaller: rejected.
    wrong = want * b / model.n_samples
    assert np.any(np.abs(cov - wrong) > 10 * se)


def test_product_network_balance_drift():
    # Interpolating data (y = x): the valley w1 w2 = 1, Hessian = Gauss-Newton on it. From
    # (2, 0.5), D = w1² − w2² = 3.75 shrinks at the derived rate (η²σ²m/N)·2/(2 − ηλ): toward
    # the flattest minimum |w1| = |w2|, the drift −(ησ²/4N)∇_Γ tr∇²L.
    net = ProductNetwork(n_samples=8, label_noise=0.0, rng=0)
    m = float(np.mean(net.x**2))
    lr, sigma, n, R = 0.05, 1.0, 3000, 400
    w0 = np.array([2.0, 0.5])
    ens = lsde.simulate(net, lsde.LabelNoiseSGD(lr, sigma), w0, n_steps=n, n_replicas=R,
                        save_every=n, rng=1)
    D = ens.theta[-1, :, 0] ** 2 - ens.theta[-1, :, 1] ** 2
    mean, se = D.mean(), D.std(ddof=1) / np.sqrt(R)
    theory = predicted_balance(3.75, 1.0, m, lr, sigma, 8, n)[-1, 0]
    leading = predicted_balance(3.75, 1.0, m, lr, sigma, 8, n, corrected=False)[-1, 0]
    assert abs(mean - theory) < 4 * se, (mean, se, theory)  # D decays from 3.75 to ~2.5
    # Negative controls: the leading-order rate (no 2/(2 − ηλ)) is off by > 20 s.e. here
    # (ηλ ≈ 0.09); so is twice the rate (the regulariser ησ²/2 tr∇²L instead of /4)...
    assert abs(mean - leading) > 10 * se
    twice = predicted_balance(3.75, 1.0, 2 * m, lr, sigma, 8, n)[-1, 0]
    assert abs(mean - twice) > 10 * se
    # ...and mini-batch noise on interpolating data vanishes on the valley: D stays put.
    sgd = lsde.simulate(net, lsde.SGD(lr, 2), w0, n_steps=n, n_replicas=50, save_every=n, rng=1)
    Ds = sgd.theta[-1, :, 0] ** 2 - sgd.theta[-1, :, 1] ** 2
    np.testing.assert_allclose(Ds, 3.75, rtol=1e-9)


def test_diagonal_network_drift_per_coordinate():
    # Orthogonal design, (1/N) XᵀX = diag(1, 4): the coordinates decouple and each balance
    # decays at its own rate ∝ m_j (4x faster for the second), as the derivation predicts.
    dn = DiagonalLinearNetwork.orthogonal_design([1.0, 2.0], [1.0, 0.5], rng=0)
    lr, sigma, n, R = 0.02, 1.0, 3000, 300
    u0 = np.array([2.0, 1.0])
    v0 = np.array([1.0, 0.5]) / u0
    ens = lsde.simulate(dn, lsde.LabelNoiseSGD(lr, sigma), np.r_[u0, v0], n_steps=n,
                        n_replicas=R, save_every=n, rng=2)
    u, v = dn.split(ens.theta[-1])
    D = u**2 - v**2
    mean, se = D.mean(0), D.std(0, ddof=1) / np.sqrt(R)
    theory = predicted_balance(u0**2 - v0**2, [1.0, 0.5], [1.0, 4.0], lr, sigma, 8, n)[-1]
    assert np.all(np.abs(mean - theory) < 4 * se), (mean, se, theory)
    # Negative control: one shared rate (the mean m) for both coordinates is rejected.
    shared = predicted_balance(u0**2 - v0**2, [1.0, 0.5], [2.5, 2.5], lr, sigma, 8, n)[-1]
    assert np.all(np.abs(mean - shared) > 10 * se)
