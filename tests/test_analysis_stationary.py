"""Theory routes checked against each other and against closed forms."""
import numpy as np
import pytest

from analysis import stationary as st
from landscape_sde.noise import batch_noise_factor
from models import LinearRegression, Quadratic
from tests.models_under_test import all_models

H = np.array([[1.0, 0.3], [0.3, 2.0]])
C = np.array([[1.0, 0.2], [0.2, 0.5]])


def test_discrete_lyapunov_two_routes():
    for lr in (0.05, 0.3, 0.9):
        np.testing.assert_allclose(st.discrete_lyapunov(H, C, lr),
                                   st.discrete_lyapunov_kron(H, C, lr), rtol=1e-12)


def test_diagonal_closed_forms():
    h = np.array([0.5, 2.0])
    c = np.array([1.0, 3.0])
    lr = 0.4
    np.testing.assert_allclose(np.diag(st.discrete_lyapunov(np.diag(h), np.diag(c), lr)),
                               lr * c / (h * (2 - lr * h)), rtol=1e-12)
    T, dt = 0.7, 0.3
    np.testing.assert_allclose(np.diag(st.euler_maruyama_covariance(np.diag(h), T * np.eye(2), dt)),
                               T / (h * (1 - h * dt / 2)), rtol=1e-12)
    np.testing.assert_allclose(st.continuous_lyapunov(np.diag(h), T * np.eye(2)),
                               np.diag(T / h), rtol=1e-12)


def test_unstable_iteration_is_an_error():
    with pytest.raises(ValueError, match="unstable"):
        st.discrete_lyapunov(H, C, lr=1.2)  # λ_max ≈ 2.08, η λ_max > 2
    # momentum moves the edge to (2 + 2μ)/η
    st.discrete_lyapunov(np.diag([2.0]), np.eye(1), lr=1.4, momentum=0.5)


@pytest.mark.parametrize("momentum", [0.0, 0.6])
@pytest.mark.parametrize("replace", [False, True])
def test_linear_moments_reduce_to_lyapunov_on_quadratic(replace, momentum):
    model = Quadratic(H, C, n_samples=6, center=[0.5, -1.0])
    mean, cov = st.linear_sgd_moments(model, 0.2, 2, replace=replace, momentum=momentum)
    np.testing.assert_allclose(mean, [0.5, -1.0], atol=1e-12)
    sigma_b = batch_noise_factor(6, 2, replace) * C
    np.testing.assert_allclose(cov, st.discrete_lyapunov(H, sigma_b, 0.2, momentum), rtol=1e-10)


def test_sme_moments_tend_to_continuous_lyapunov():
    model = Quadratic(H, C, n_samples=6)
    lr = 0.2
    target = st.continuous_lyapunov(H, 0.5 * lr * batch_noise_factor(6, 2) * C)
    errors = [np.abs(st.linear_sgd_moments(model, lr, 2, dt=dt)[1] - target).max()
              for dt in (0.02, 0.01)]
    assert errors[1] < errors[0] and errors[0] / errors[1] == pytest.approx(2, rel=0.05)
    # dt = lr: the SME with Euler-Maruyama has exactly SGD's second moments
    np.testing.assert_allclose(st.linear_sgd_moments(model, lr, 2, dt=lr)[1],
                               st.linear_sgd_moments(model, lr, 2)[1], rtol=1e-12)


def test_linear_moments_mean_square_instability():
    model = LinearRegression.teacher_student(16, 2, noise=0.5, rng=1)
    lam = np.linalg.eigvalsh(model.hessian(None)).max()
    st.linear_sgd_moments(model, 1.5 / lam, 16)  # full batch: stable below 2/λ
    with pytest.raises(ValueError, match="unstable"):
        st.linear_sgd_moments(model, 2.05 / lam, 16)
    # with b = 1 the noise destabilises the second moments below the GD edge
    with pytest.raises(ValueError, match="unstable"):
        st.linear_sgd_moments(model, 1.9 / lam, 1, replace=True)


def test_linear_moments_reject_nonlinear_models():
    with pytest.raises(ValueError, match="affine"):
        st.linear_sgd_moments(all_models()["double-well-1d"], 0.1, 1)


def test_boltzmann_moment_gaussian():
    # U = x²/2 at temperature T: ⟨x²⟩ = T
    assert st.boltzmann_moment(lambda x: 0.5 * x * x, 0.7, lambda x: x * x) == pytest.approx(0.7, rel=1e-10)
