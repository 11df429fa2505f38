"""Every model: compiled kernels against the NumPy references, and the references against
finite differences."""
import numpy as np
import pytest

import landscape_sde as lsde
from models import Quadratic

from tests.models_under_test import all_models

MODELS = all_models()


@pytest.fixture(params=sorted(MODELS), ids=sorted(MODELS))
def model(request):
    return MODELS[request.param]


def _points(model, k=3):
    gen = np.random.default_rng(0)
    return [gen.normal(size=model.dim) for _ in range(k)]


def test_compiled_kernels_match_numpy(model):
    errors = lsde.check_kernels(model)
    assert set(errors) >= {"loss", "grad", "batch_grad", "sample_grads", "hvp", "batch_hvp"}


def test_check_kernels_catches_a_wrong_kernel():
    # Negative control: a quadratic whose compiled HVP is replaced by the gradient kernel.
    quad = MODELS["quadratic"]
    wrong = Quadratic(quad.hessian_matrix, n_samples=None)
    original = wrong.kernels.get
    wrong.compiled = lambda name: (lambda th, d, v, out: original("grad")(th, d, out)) \
        if name == "hvp" else original(name)
    with pytest.raises(AssertionError, match="hvp"):
        lsde.check_kernels(wrong)


def test_gradient_is_mean_of_sample_gradients(model):
    for theta in _points(model):
        np.testing.assert_allclose(model.grad(theta), model.sample_grads(theta).mean(axis=0),
                                   rtol=1e-12, atol=1e-13)


def test_references_match_finite_differences(model):
    # Central differences have error O(h²·f''') ~ 1e-10 at h = 1e-5, plus round-off
    # O(eps·f/h) ~ 1e-11; 1e-7 is a safe margin for these O(1) functions.
    h = 1e-5
    eye = np.eye(model.dim)
    for theta in _points(model):
        fd_grad = np.array([(model.loss(theta + h * e) - model.loss(theta - h * e)) / (2 * h) for e in eye])
        np.testing.assert_allclose(model.grad(theta), fd_grad, rtol=1e-7, atol=1e-7)
        fd_hess = np.array([(model.grad(theta + h * e) - model.grad(theta - h * e)) / (2 * h) for e in eye])
        np.testing.assert_allclose(model.hessian(theta), fd_hess, rtol=1e-7, atol=1e-7)
        fd = np.array([(model.sample_losses(theta + h * e) - model.sample_losses(theta - h * e))
                       / (2 * h) for e in eye]).T
        np.testing.assert_allclose(model.sample_grads(theta), fd, rtol=1e-7, atol=1e-7)
        assert np.mean(model.sample_losses(theta)) == pytest.approx(model.loss(theta), rel=1e-12)
