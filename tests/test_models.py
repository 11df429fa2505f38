"""Every model: compiled kernels against the NumPy references, and the references against
finite differences."""
import numpy as np
import pytest

from tests.models_under_test import all_models

MODELS = all_models()


@pytest.fixture(params=sorted(MODELS), ids=sorted(MODELS))
def model(request):
    return MODELS[request.param]


def _points(model, k=3):
    gen = np.random.default_rng(0)
    return [gen.normal(size=model.dim) for _ in range(k)]


def test_compiled_kernels_match_numpy(model):
    gen = np.random.default_rng(1)
    for theta in _points(model):
        data = model.data
        assert model.compiled("loss")(theta, data) == pytest.approx(model.loss(theta), rel=1e-12, abs=1e-14)
        out = np.empty(model.dim)
        model.compiled("grad")(theta, data, out)
        np.testing.assert_allclose(out, model.grad(theta), rtol=1e-12, atol=1e-13)
        idx = gen.integers(0, model.n_samples, size=min(4, model.n_samples)).astype(np.int64)
        model.compiled("batch_grad")(theta, data, idx, out)
        np.testing.assert_allclose(out, model.sample_grads(theta, idx).mean(axis=0), rtol=1e-12, atol=1e-13)
        rows = np.empty((idx.size, model.dim))
        model.compiled("sample_grads")(theta, data, idx, rows)
        np.testing.assert_allclose(rows, model.sample_grads(theta, idx), rtol=1e-12, atol=1e-13)
        v = gen.normal(size=model.dim)
        model.compiled("hvp")(theta, data, v, out)
        np.testing.assert_allclose(out, model.hessian(theta) @ v, rtol=1e-12, atol=1e-13)
        model.compiled("batch_hvp")(theta, data, idx, v, out)
        # the base-class reference is a central difference (error ~1e-9); exact ones match 1e-12
        np.testing.assert_allclose(out, model.batch_hvp(theta, idx, v), rtol=1e-7, atol=1e-8)


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
