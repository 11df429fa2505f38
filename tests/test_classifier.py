"""Classifiers of :mod:`models.classifier` and the data of :mod:`models.datasets`: the loader on
scikit-learn's real digits file, the kernels against NumPy references and finite differences,
closed-form Hessians of softmax regression, PyTorch autograd as an independent method, and the
accuracy helpers."""
import numpy as np
import pytest

from landscape_sde import check_kernels
from models.classifier import OneHiddenLayerNetwork, SoftmaxRegression
from models.datasets import corrupt_labels, digits, gaussian_mixture, one_hot

pytest.importorskip("sklearn")

MIX = gaussian_mixture(12, 6, n_features=3, n_classes=3, rng=0)


# --- data ------------------------------------------------------------------------------------
def test_digits_loads_the_bundled_file_with_a_fixed_stratified_split():
    from sklearn.datasets import load_digits
    raw = load_digits()
    ds = digits()
    assert raw.data.shape == (1797, 64)
    assert (ds.X_train.shape, ds.X_test.shape, ds.n_classes) == ((1438, 64), (359, 64), 10)
    # stratified: each class has round(0.2 n_c) test images
    assert np.array_equal(np.bincount(ds.y_test), np.round(0.2 * np.bincount(raw.target)).astype(int))
    # standardised with training statistics; the always-blank pixels stay at 0
    constant = raw.data.std(axis=0) == 0
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0)[~constant], 1, rtol=1e-12)
    # the split is a partition of the file: every image once, with its own label
    X = np.vstack([ds.X_train, ds.X_test]) * ds.scale + ds.mean
    y = np.concatenate([ds.y_train, ds.y_test])
    order = np.lexsort(np.column_stack([X, y]).T)
    ref = np.lexsort(np.column_stack([raw.data, raw.target]).T)
    np.testing.assert_allclose(X[order], raw.data[ref], atol=1e-9)
    assert np.array_equal(y[order], raw.target[ref])
    # fixed: the same split on every call
    again = digits()
    assert np.array_equal(again.X_test, ds.X_test) and np.array_equal(again.y_train, ds.y_train)


def test_digits_subsets_are_balanced_and_nested():
    small, big, full = digits(200), digits(400), digits()
    assert np.array_equal(np.bincount(small.y_train), np.full(10, 20))
    raw = lambda d: d.X_train * d.scale + d.mean  # noqa: E731
    rows = {tuple(r) for r in np.round(raw(big), 6)}
    assert all(tuple(r) in rows for r in np.round(raw(small), 6))
    np.testing.assert_allclose(small.X_test * small.scale + small.mean,
                               full.X_test * full.scale + full.mean, atol=1e-12)  # same held-out images
    two = digits(classes=[3, 8])
    assert two.n_classes == 2 and set(np.unique(two.y_train)) == {0, 1}
    with pytest.raises(ValueError, match="n_train"):
        digits(5)  # fewer than one image per class
    with pytest.raises(ValueError, match="classes"):
        digits(classes=[3, 3])
    with pytest.raises(ValueError, match="test_fraction"):
        digits(test_fraction=1.0)


def test_gaussian_mixture_and_label_noise():
    a, b = gaussian_mixture(30, 9, rng=1), gaussian_mixture(30, 9, rng=1)
    assert np.array_equal(a.X_train, b.X_train) and a.X_test.shape == (9, 2)
    assert np.array_equal(np.bincount(a.y_train), [10, 10, 10])
    with pytest.raises(ValueError, match="separation"):
        gaussian_mixture(30, separation=-1.0)
    # label noise: a fraction f of labels redrawn uniformly, so f (K − 1)/K of them change.
    # For f = 0.5, K = 10, N = 1438: mean 647, s.d. √(N q (1 − q)) = 18.9; tolerance 4 s.d.
    ds = digits()
    noisy = corrupt_labels(ds, 0.5, rng=0)
    assert abs(np.sum(noisy.y_train != ds.y_train) - 0.45 * 1438) < 4 * 18.9
    assert np.array_equal(noisy.y_test, ds.y_test)
    assert np.array_equal(corrupt_labels(ds, 0.0, rng=0).y_train, ds.y_train)
    with pytest.raises(ValueError, match="labels"):
        one_hot(np.array([0, 3]), 3)


# --- kernels ---------------------------------------------------------------------------------
@pytest.mark.parametrize("width, activation", [(0, "tanh"), (4, "tanh"), (4, "softplus")])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_kernels_match_references_and_finite_differences(width, activation, loss):
    model = (SoftmaxRegression.from_dataset(MIX, loss) if width == 0 else
             OneHiddenLayerNetwork.from_dataset(MIX, width, activation, loss))
    errors = check_kernels(model, rng=1)
    assert max(errors.values()) < 1e-6


def test_softmax_regression_hessians_in_closed_form():
    # MSE: H = E[x̃ x̃ᵀ] ⊗ I_K with x̃ = [x, 1] in θ's order [W (K×d row-major), c], constant in θ;
    # cross-entropy: H = E[(diag p − p pᵀ) ⊗ x̃ x̃ᵀ] in the same order.
    ds = digits(100)
    th = SoftmaxRegression.from_dataset(ds).init(rng=0)
    Xa = np.hstack([ds.X_train, np.ones((100, 1))])
    M = Xa.T @ Xa / 100
    K, d = 10, 64

    def to_theta_order(H_kx):  # H indexed by (k, x̃-index) pairs, k-major
        idx = np.array([k * (d + 1) + j for k in range(K) for j in range(d)] +
                       [k * (d + 1) + d for k in range(K)])
        return H_kx[np.ix_(idx, idx)]

    mse = SoftmaxRegression.from_dataset(ds, "mse")
    np.testing.assert_allclose(mse.hessian(th), to_theta_order(np.kron(np.eye(K), M)), atol=1e-12)
    ce = SoftmaxRegression.from_dataset(ds, "cross_entropy")
    Z = ds.X_train @ th[:K * d].reshape(K, d).T + th[K * d:]
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    H = sum(np.kron(np.diag(p) - np.outer(p, p), np.outer(x, x)) for p, x in zip(P, Xa)) / 100
    np.testing.assert_allclose(ce.hessian(th), to_theta_order(H), atol=1e-12)
    # the normal equations' minimiser has zero gradient (MSE only)
    g = np.empty(mse.dim)
    mse.compiled("grad")(mse.least_squares(ridge=1e-8), mse.data, g)
    assert np.linalg.norm(g) < 1e-7
    with pytest.raises(ValueError, match="loss"):
        ce.least_squares()


def test_network_against_torch_autograd():
    torch = pytest.importorskip("torch")
    ds = digits(100)
    for loss, act in (("cross_entropy", "tanh"), ("mse", "softplus")):
        m = OneHiddenLayerNetwork.from_dataset(ds, 16, act, loss)
        th, v = m.init(rng=0), np.random.default_rng(1).standard_normal(m.dim)
        X, Y = torch.tensor(ds.X_train), torch.tensor(one_hot(ds.y_train, 10))
        sigma = torch.tanh if act == "tanh" else torch.nn.functional.softplus

        def L(t):
            W1, c1 = t[:16 * 64].reshape(16, 64), t[1024:1040]
            W2, c2 = t[1040:1200].reshape(10, 16), t[1200:]
            Z = sigma(X @ W1.T + c1) @ W2.T + c2
            if loss == "mse":
                return 0.5 * ((Z - Y) ** 2).sum(1).mean()
            return torch.nn.functional.cross_entropy(Z, torch.tensor(ds.y_train))

        t = torch.tensor(th, requires_grad=True)
        (g,) = torch.autograd.grad(L(t), t, create_graph=True)
        (hv,) = torch.autograd.grad(g @ torch.tensor(v), t)
        out = np.empty(m.dim)
        m.compiled("grad")(th, m.data, out)
        np.testing.assert_allclose(out, g.detach().numpy(), rtol=1e-10, atol=1e-13)
        m.compiled("hvp")(th, m.data, v, out)
        np.testing.assert_allclose(out, hv.numpy(), rtol=1e-9, atol=1e-12)
        assert m.compiled("loss")(th, m.data) == pytest.approx(float(L(t).detach()), rel=1e-12)


# --- helpers and validation --------------------------------------------------------------------
def test_accuracy_and_loss_helpers():
    m = SoftmaxRegression.from_dataset(MIX)
    # W = 0 and c = e_1: every logit row is [0, 1, 0], so predictions are class 1 and the
    # accuracy is the fraction of class-1 samples; the loss is log(2 + e) − [y = 1] exactly
    th = np.zeros(m.dim)
    th[m.n_classes * m.n_features + 1] = 1.0
    loss, acc = m.evaluate(th, MIX.X_test, MIX.y_test)
    assert acc == pytest.approx(np.mean(MIX.y_test == 1))
    assert loss == pytest.approx(np.log(2 + np.e) - np.mean(MIX.y_test == 1))
    assert m.test_accuracy(th) == acc and m.test_loss(th) == loss
    assert m.accuracy(th) == pytest.approx(np.mean(MIX.y_train == 1))
    # a trained model separates well-separated blobs; indistinguishable blobs stay at chance
    import landscape_sde as lsde
    for sep, low, high in ((6.0, 0.95, 1.0), (0.0, 0.0, 0.6)):
        ds = gaussian_mixture(300, 300, n_classes=3, separation=sep, rng=2)
        net = OneHiddenLayerNetwork.from_dataset(ds, 8)
        ens = lsde.simulate(net, lsde.GD(0.5), net.init(rng=0), n_steps=300, save_every=300)
        assert low <= net.test_accuracy(ens.theta[-1, 0]) <= high
    with pytest.raises(ValueError, match="test set"):
        SoftmaxRegression(MIX.X_train, MIX.y_train).test_accuracy(th)


def test_bad_input_is_rejected_with_the_argument_named():
    with pytest.raises(ValueError, match="labels"):
        SoftmaxRegression(MIX.X_train, MIX.y_train[:-1])
    with pytest.raises(ValueError, match="labels"):
        SoftmaxRegression(MIX.X_train, MIX.y_train.astype(float))
    with pytest.raises(ValueError, match="loss"):
        SoftmaxRegression(MIX.X_train, MIX.y_train, loss="hinge")
    with pytest.raises(ValueError, match="activation"):
        OneHiddenLayerNetwork(MIX.X_train, MIX.y_train, 3, activation="relu")
    with pytest.raises(ValueError, match="width"):
        OneHiddenLayerNetwork(MIX.X_train, MIX.y_train, 0)
    with pytest.raises(ValueError, match="X"):
        SoftmaxRegression(np.full((3, 2), np.nan), [0, 1, 0])
    with pytest.raises(TypeError, match="ds"):
        SoftmaxRegression.from_dataset(MIX.X_train)
