"""Small classifiers with exact curvature: softmax (multinomial logistic) regression and a
one-hidden-layer network with a smooth activation, each with the mean-squared-error or the
cross-entropy loss.

Model and loss, for an input ``x ∈ R^d``, ``K`` classes and the one-hot target ``y`` of the
label ``c``:

- softmax regression: logits ``z = W x + c`` (``W`` is ``K × d``);
- one hidden layer of width ``h``: ``u = W₁ x + c₁``, ``a = σ(u)``, ``z = W₂ a + c₂`` with
  ``σ = tanh`` or ``softplus(u) = log(1 + eᵘ)`` (both smooth, so the Hessian exists everywhere);
- ``loss="mse"``: ``ℓ = ½‖z − y‖²`` (the project's MSE convention; softmax regression with this
  loss is linear least squares on one-hot targets); ``loss="cross_entropy"``:
  ``ℓ = log Σ_k e^{z_k} − z_c``.

``θ`` concatenates ``[W₁, c₁, W₂, c₂]`` (``[W, c]`` for the regression), matrices row-major.

Derivatives. With ``G = ∂ℓ/∂z`` (``z − y`` for MSE, ``p − y`` for cross-entropy, ``p`` the
softmax) backpropagation gives ``∂W₂ = G aᵀ``, ``∂c₂ = G``, ``∂W₁ = (W₂ᵀG ⊙ σ'(u)) xᵀ``,
``∂c₁ = W₂ᵀG ⊙ σ'(u)``. Hessian-vector products are exact, by Pearlmutter's R-operator: a
forward tangent pass ``Ṙu = V₁x + v_{c₁}``, ``Ṙa = σ'(u) ⊙ Ṙu``, ``Ṙz = V₂a + W₂Ṙa + v_{c₂}``,
the head's tangent ``ṘG = Ṙz`` (MSE) or ``p ⊙ Ṙz − p (pᵀṘz)`` (cross-entropy: the softmax
Jacobian ``diag p − ppᵀ``), and the tangent of the backward pass, whose second-order term
``W₂ᵀG ⊙ σ''(u) ⊙ Ṙu`` is what distinguishes the full Hessian from its Gauss-Newton part.

The compiled kernels (prefix ``clf``) serve both classes, both activations and both losses:
the architecture travels in ``data`` as integers, so one set of six kernels is compiled once.
They work on whole batches with matrix products (``np.dot``, BLAS), inputs stored as columns.
"""
import numpy as np

from landscape_sde import checks as _v
from landscape_sde._kernels.jit import jit
from landscape_sde.model import KernelSpec, Model
from landscape_sde.rng import as_seed_sequence

from .datasets import Dataset, one_hot

__all__ = ["SoftmaxRegression", "OneHiddenLayerNetwork"]

LOSSES = ("mse", "cross_entropy")
ACTIVATIONS = ("tanh", "softplus")


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {allowed}, got {value!r}")
    return allowed.index(value)


def _activation(u, act):
    """``σ(u), σ'(u), σ''(u)`` in NumPy (reference)."""
    if act == 0:
        s = np.tanh(u)
        ds = 1.0 - s * s
        return s, ds, -2.0 * s * ds
    sig = 0.5 * (1.0 + np.tanh(0.5 * u))  # logistic, overflow-free
    return np.logaddexp(0.0, u), sig, sig * (1.0 - sig)


class _Classifier(Model):
    """Shared machinery of the classifiers (see the module docstring)."""

    kernels = KernelSpec(__name__, "clf")

    def __init__(self, X, labels, n_classes, width, activation, loss):
        self.X = _v.finite_array("X", X, ndim=2)
        labels = np.asarray(labels)
        if labels.shape != (self.X.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels: expected {self.X.shape[0]} integer labels (one per row of "
                             f"X), got dtype {labels.dtype} and shape {labels.shape}")
        self.labels = labels.astype(np.int64)
        if n_classes is None:
            n_classes = int(self.labels.max()) + 1
        self.n_classes = _v.integer("n_classes", n_classes, low=2)
        self.Y = one_hot(self.labels, self.n_classes)
        self.width = width
        self.activation = activation
        self.loss_name = loss
        self._act = _choice("activation", activation, ACTIVATIONS)
        self._loss = _choice("loss", loss, LOSSES)
        self.n_samples, self.n_features = self.X.shape
        d, h, K = self.n_features, self.width, self.n_classes
        self.dim = (h * d + h + K * h + K) if h else (K * d + K)
        self.data = (np.ascontiguousarray(self.X.T), np.ascontiguousarray(self.Y.T),
                     np.array([d, h, K, self._act, self._loss], dtype=np.int64))
        self.test_X = self.test_labels = None

    def _with_test(self, ds):
        self.test_X, self.test_labels = ds.X_test, ds.y_test
        return self

    # --- parameters ------------------------------------------------------------------------
    def unpack(self, theta):
        """Views of ``θ``: ``(W₁, c₁, W₂, c₂)`` for the network, ``(W, c)`` for the regression."""
        theta = np.asarray(theta, dtype=np.float64)
        d, h, K = self.n_features, self.width, self.n_classes
        if not h:
            return theta[:K * d].reshape(K, d), theta[K * d:]
        o = h * d + h
        return (theta[:h * d].reshape(h, d), theta[h * d:o], theta[o:o + K * h].reshape(K, h),
                theta[o + K * h:])

    def init(self, rng=None, scale=1.0):
        """LeCun-normal weights ``N(0, scale²/fan_in)`` and zero biases."""
        gen = np.random.default_rng(as_seed_sequence(rng))
        scale = _v.real("scale", scale, low=0.0)
        d, h, K = self.n_features, self.width, self.n_classes
        if not h:
            return np.concatenate([gen.normal(0, scale / np.sqrt(d), K * d), np.zeros(K)])
        return np.concatenate([gen.normal(0, scale / np.sqrt(d), h * d), np.zeros(h),
                               gen.normal(0, scale / np.sqrt(h), K * h), np.zeros(K)])

    # --- NumPy references (samples as rows) --------------------------------------------------
    def _forward(self, theta, X):
        parts = self.unpack(theta)
        if not self.width:
            W, c = parts
            return X, None, X @ W.T + c
        W1, c1, W2, c2 = parts
        U = X @ W1.T + c1
        A = _activation(U, self._act)[0]
        return A, U, A @ W2.T + c2

    def logits(self, theta, X=None):
        """Logits ``z`` of the rows of ``X`` (default: the training inputs), ``(n, K)``."""
        X = self.X if X is None else _v.finite_array("X", X, shape=(None, self.n_features))
        return self._forward(theta, X)[2]

    def _head(self, Z, Y):
        """Per-sample losses and ``G = ∂ℓ/∂z``."""
        if self._loss == 0:
            R = Z - Y
            return 0.5 * np.sum(R * R, axis=1), R
        m = Z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
        P = np.exp(Z - lse[:, None])
        return lse - np.sum(Z * Y, axis=1), P - Y

    def _rows(self, idx):
        return (self.X, self.Y) if idx is None else (self.X[np.asarray(idx)], self.Y[np.asarray(idx)])

    def sample_losses(self, theta, idx=None):
        X, Y = self._rows(idx)
        return self._head(self.logits(theta, X), Y)[0]

    def loss(self, theta):
        return float(np.mean(self.sample_losses(theta)))

    def evaluate(self, theta, X, labels):
        """``(mean loss, accuracy)`` on inputs ``X`` with integer ``labels`` (e.g. a test set);
        accuracy is the fraction of rows whose largest logit is the label (ties: lowest index)."""
        X = _v.finite_array("X", X, shape=(None, self.n_features))
        Y = one_hot(np.asarray(labels), self.n_classes)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"labels: expected {X.shape[0]} labels, got {Y.shape[0]}")
        Z = self.logits(theta, X)
        return float(np.mean(self._head(Z, Y)[0])), float(np.mean(Z.argmax(axis=1) == labels))

    def accuracy(self, theta):
        """Training accuracy."""
        return self.evaluate(theta, self.X, self.labels)[1]

    def test_accuracy(self, theta):
        """Accuracy on the held-out set (models built by ``from_dataset``)."""
        return self.evaluate(theta, *self._test())[1]

    def test_loss(self, theta):
        """Mean loss on the held-out set (models built by ``from_dataset``)."""
        return self.evaluate(theta, *self._test())[0]

    def _test(self):
        if self.test_X is None or self.test_X.shape[0] == 0:
            raise ValueError("test set: this model has none; build it with from_dataset(...) "
                             "from a Dataset with test samples")
        return self.test_X, self.test_labels

    def sample_grads(self, theta, idx=None):
        X, Y = self._rows(idx)
        A, U, Z = self._forward(theta, X)
        G = self._head(Z, Y)[1]
        outer = lambda P, Q: (P[:, :, None] * Q[:, None, :]).reshape(P.shape[0], -1)  # noqa: E731
        if not self.width:
            return np.concatenate([outer(G, X), G], axis=1)
        W2 = self.unpack(theta)[2]
        dU = (G @ W2) * _activation(U, self._act)[1]
        return np.concatenate([outer(dU, X), dU, outer(G, A), G], axis=1)

    def batch_hvp(self, theta, idx, v):
        """Exact ``∇²L_B(θ) v`` by the R-operator (module docstring), in NumPy."""
        X, Y = self._rows(idx)
        theta, v = np.asarray(theta, dtype=np.float64), np.asarray(v, dtype=np.float64)
        A, U, Z = self._forward(theta, X)
        G = self._head(Z, Y)[1]
        tp, vp = self.unpack(theta), self.unpack(v)
        b = X.shape[0]
        if not self.width:
            RZ = X @ vp[0].T + vp[1]
            RA = np.zeros_like(X)
            W2, V2 = tp[0], vp[0]
        else:
            (W1, c1, W2, c2), (V1, v1, V2, v2) = tp, vp
            s, ds, dds = _activation(U, self._act)
            RU = X @ V1.T + v1
            RA = ds * RU
            RZ = A @ V2.T + RA @ W2.T + v2
        if self._loss == 0:
            RG = RZ
        else:
            P = G + Y
            RG = P * RZ - P * np.sum(P * RZ, axis=1, keepdims=True)
        out_last = [(RG.T @ A + G.T @ RA).ravel() / b, RG.sum(axis=0) / b]
        if not self.width:
            return np.concatenate(out_last)
        dA = G @ W2
        RdU = (RG @ W2 + G @ V2) * ds + dA * dds * RU
        return np.concatenate([(RdU.T @ X).ravel() / b, RdU.sum(axis=0) / b] + out_last)

    def hvp(self, theta, v):
        return self.batch_hvp(theta, np.arange(self.n_samples), v)

    def hessian(self, theta):
        """Dense Hessian from ``dim`` exact HVPs (small models only; use
        ``analysis.curvature.sharpness`` beyond a few thousand parameters)."""
        if self.dim > 4000:
            raise ValueError(f"theta: a dense Hessian of dim {self.dim} is too large; use "
                             "analysis.curvature.sharpness (Lanczos on HVPs)")
        H = np.stack([self.hvp(theta, e) for e in np.eye(self.dim)], axis=1)
        return 0.5 * (H + H.T)

    def params(self):
        return {"n_features": self.n_features, "n_classes": self.n_classes, "width": self.width,
                "activation": self.activation if self.width else None, "loss": self.loss_name}


class SoftmaxRegression(_Classifier):
    """Multinomial logistic regression ``z = W x + c`` (``dim = K(d + 1)``).

    Parameters
    ----------
    X : array_like (N, d)
        Inputs (standardise them first, e.g. with :func:`models.datasets.digits`).
    labels : array_like of int (N,)
        Classes in ``[0, n_classes)``.
    n_classes : int, optional
        ``K >= 2``; default ``max(labels) + 1``.
    loss : {"cross_entropy", "mse"}
        ``"mse"`` makes it least squares on one-hot targets (linear learning).
    """

    def __init__(self, X, labels, n_classes=None, loss="cross_entropy"):
        super().__init__(X, labels, n_classes, 0, "tanh", loss)

    @classmethod
    def from_dataset(cls, ds, loss="cross_entropy"):
        """The model on ``ds``'s training set, keeping its test set for :meth:`test_accuracy`."""
        if not isinstance(ds, Dataset):
            raise TypeError(f"ds: expected a models.datasets.Dataset, got {type(ds).__name__}")
        return cls(ds.X_train, ds.y_train, ds.n_classes, loss)._with_test(ds)

    def least_squares(self, ridge=0.0):
        """Closed-form minimiser of the MSE loss (``loss="mse"`` only): ``[W, c]`` solving the
        normal equations on ``[x, 1]``, with an optional ridge ``ridge ≥ 0`` on ``W``; the
        minimum-norm solution when the inputs are rank-deficient (constant pixels)."""
        if self._loss != 0:
            raise ValueError("loss: least_squares needs loss='mse', this model has "
                             f"loss={self.loss_name!r}")
        ridge = _v.real("ridge", ridge, low=0.0)
        Xa = np.hstack([self.X, np.ones((self.n_samples, 1))])
        M = Xa.T @ Xa / self.n_samples
        M[:-1, :-1] += ridge * np.eye(self.n_features)
        B = np.linalg.pinv(M, hermitian=True) @ (Xa.T @ self.Y / self.n_samples)  # (d+1, K)
        return np.concatenate([B[:-1].T.ravel(), B[-1]])


class OneHiddenLayerNetwork(_Classifier):
    """``z = W₂ σ(W₁ x + c₁) + c₂`` with ``h`` hidden units (``dim = h(d + 1) + K(h + 1)``).

    Parameters
    ----------
    X, labels, n_classes, loss : as in :class:`SoftmaxRegression`
    width : int
        ``h >= 1``.
    activation : {"tanh", "softplus"}
    """

    def __init__(self, X, labels, width, n_classes=None, activation="tanh", loss="cross_entropy"):
        super().__init__(X, labels, n_classes, _v.integer("width", width, low=1), activation, loss)

    @classmethod
    def from_dataset(cls, ds, width, activation="tanh", loss="cross_entropy"):
        """The network on ``ds``'s training set, keeping its test set."""
        if not isinstance(ds, Dataset):
            raise TypeError(f"ds: expected a models.datasets.Dataset, got {type(ds).__name__}")
        return cls(ds.X_train, ds.y_train, width, ds.n_classes, activation, loss)._with_test(ds)


# --- compiled kernels ----------------------------------------------------------------------------
@jit
def _act(U, act, ds, dds):
    """``σ(U)`` returned; ``σ'`` and ``σ''`` written into ``ds``, ``dds``."""
    S = np.empty_like(U)
    for i in range(U.shape[0]):
        for j in range(U.shape[1]):
            u = U[i, j]
            if act == 0:
                s = np.tanh(u)
                S[i, j] = s
                ds[i, j] = 1.0 - s * s
                dds[i, j] = -2.0 * s * (1.0 - s * s)
            else:
                sig = 0.5 * (1.0 + np.tanh(0.5 * u))
                S[i, j] = max(u, 0.0) + np.log1p(np.exp(-abs(u)))
                ds[i, j] = sig
                dds[i, j] = sig * (1.0 - sig)
    return S


@jit
def _add_bias(M, c):
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            M[i, j] += c[i]


@jit
def _row_sums(M, out, scale):
    for i in range(M.shape[0]):
        acc = 0.0
        for j in range(M.shape[1]):
            acc += M[i, j]
        out[i] = scale * acc


@jit
def _clf_pass(theta, xt, yt, meta, out, v, hv):
    """Mean gradient over the columns of ``xt`` into ``out``; with ``hv.size > 0`` also the
    exact Hessian-vector product with ``v`` into ``hv``. Returns the mean loss."""
    d, h, K, act, lossc = meta[0], meta[1], meta[2], meta[3], meta[4]
    b = xt.shape[1]
    with_hv = hv.shape[0] > 0
    n_in = h if h > 0 else d
    o = h * d + h  # offset of the output layer (0 for the regression)
    if h > 0:
        U = np.dot(theta[:h * d].reshape(h, d), xt)
        _add_bias(U, theta[h * d:o])
        ds, dds = np.empty_like(U), np.empty_like(U)
        A = _act(U, act, ds, dds)
    else:
        A = xt
    W2 = theta[o:o + K * n_in].reshape(K, n_in)
    Z = np.dot(W2, A)
    _add_bias(Z, theta[o + K * n_in:])
    # head: per-sample loss and G = dℓ/dz (columns)
    loss = 0.0
    G = np.empty_like(Z)
    for j in range(b):
        if lossc == 0:
            for k in range(K):
                r = Z[k, j] - yt[k, j]
                G[k, j] = r
                loss += 0.5 * r * r
        else:
            m = Z[0, j]
            for k in range(1, K):
                m = max(m, Z[k, j])
            acc = 0.0
            for k in range(K):
                acc += np.exp(Z[k, j] - m)
            lse = m + np.log(acc)
            for k in range(K):
                G[k, j] = np.exp(Z[k, j] - lse) - yt[k, j]
                loss += yt[k, j] * (lse - Z[k, j])
    inv = 1.0 / b
    out[o:o + K * n_in].reshape(K, n_in)[:, :] = inv * np.dot(G, A.T)
    _row_sums(G, out[o + K * n_in:], inv)
    if h > 0:
        dA = np.dot(W2.T, G)
        dU = dA * ds
        out[:h * d].reshape(h, d)[:, :] = inv * np.dot(dU, xt.T)
        _row_sums(dU, out[h * d:o], inv)
    if with_hv:
        V2 = v[o:o + K * n_in].reshape(K, n_in)
        RZ = np.dot(V2, A)
        _add_bias(RZ, v[o + K * n_in:])
        if h > 0:
            RU = np.dot(v[:h * d].reshape(h, d), xt)
            _add_bias(RU, v[h * d:o])
            RA = ds * RU
            RZ += np.dot(W2, RA)
        if lossc == 0:
            RG = RZ
        else:
            RG = np.empty_like(RZ)
            for j in range(b):
                pz = 0.0
                for k in range(K):
                    pz += (G[k, j] + yt[k, j]) * RZ[k, j]
                for k in range(K):
                    RG[k, j] = (G[k, j] + yt[k, j]) * (RZ[k, j] - pz)
        hw2 = np.dot(RG, A.T)
        if h > 0:
            hw2 += np.dot(G, RA.T)
        hv[o:o + K * n_in].reshape(K, n_in)[:, :] = inv * hw2
        _row_sums(RG, hv[o + K * n_in:], inv)
        if h > 0:
            RdU = (np.dot(W2.T, RG) + np.dot(V2.T, G)) * ds + dA * dds * RU
            hv[:h * d].reshape(h, d)[:, :] = inv * np.dot(RdU, xt.T)
            _row_sums(RdU, hv[h * d:o], inv)
    return loss * inv


@jit
def clf_loss(theta, data):
    xt, yt, meta = data
    scratch = np.empty(theta.shape[0])
    return _clf_pass(theta, xt, yt, meta, scratch, theta, scratch[:0])


@jit
def clf_grad(theta, data, out):
    xt, yt, meta = data
    _clf_pass(theta, xt, yt, meta, out, theta, out[:0])


@jit
def clf_batch_grad(theta, data, idx, out):
    xt, yt, meta = data
    _clf_pass(theta, np.ascontiguousarray(xt[:, idx]), np.ascontiguousarray(yt[:, idx]), meta,
              out, theta, out[:0])


@jit
def clf_sample_grads(theta, data, idx, out):
    for k in range(idx.shape[0]):
        clf_batch_grad(theta, data, idx[k:k + 1], out[k])


@jit
def clf_batch_hvp(theta, data, idx, v, out):
    xt, yt, meta = data
    scratch = np.empty(theta.shape[0])
    _clf_pass(theta, np.ascontiguousarray(xt[:, idx]), np.ascontiguousarray(yt[:, idx]), meta,
              scratch, v, out)


@jit
def clf_hvp(theta, data, v, out):
    xt, yt, meta = data
    scratch = np.empty(theta.shape[0])
    _clf_pass(theta, xt, yt, meta, scratch, v, out)
