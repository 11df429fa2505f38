"""Quadratics and linear regression: finite sums with affine per-sample gradients, so that
every moment of SGD is known in closed form (see :mod:`analysis.stationary`)."""
import hashlib

import numpy as np

from landscape_sde import checks as _v
from landscape_sde._kernels.jit import jit
from landscape_sde.model import KernelSpec, Model
from landscape_sde.rng import as_seed_sequence

__all__ = ["Quadratic", "LinearRegression"]


def _dct_basis(n, k):
    """``n × k`` orthonormal columns orthogonal to the constant vector (DCT-II, modes 1..k)."""
    i = np.arange(n)[:, None] + 0.5
    j = np.arange(1, k + 1)[None, :]
    return np.sqrt(2.0 / n) * np.cos(np.pi * i * j / n)


class Quadratic(Model):
    """``L(θ) = ½ (θ − c)ᵀ H (θ − c)`` as a finite sum with additive gradient noise.

    Sample ``i`` has loss ``ℓ_i(θ) = ½ δᵀHδ + a_iᵀδ`` (``δ = θ − c``) with offsets chosen so
    that ``Σ_i a_i = 0`` and ``(1/N) Σ_i a_i a_iᵀ = noise_cov``: the per-sample gradient
    covariance ``C(θ)`` equals ``noise_cov`` exactly, at every ``θ``. The offsets are
    ``a_i = √N Lᵀ u_i`` with ``L Lᵀ = noise_cov`` and ``u_i`` the rows of an orthonormal
    DCT-II basis orthogonal to the constant vector (deterministic, needs ``N > dim``).
    The mini-batch covariance is then ``c_b · noise_cov`` (:func:`landscape_sde.noise.batch_noise_factor`).

    Parameters
    ----------
    hessian : array_like, (dim, dim)
        Symmetric ``H`` (not necessarily positive definite).
    noise_cov : array_like, (dim, dim), optional
        Per-sample gradient covariance ``C``, symmetric PSD. ``None``: no noise, ``N = 1``.
    n_samples : int, optional
        ``N``, default ``2 dim`` (``> dim`` required when ``noise_cov`` is given).
    center : array_like, (dim,), optional
        The minimiser ``c`` (default 0).
    """


    def __init__(self, hessian, noise_cov=None, *, n_samples=None, center=None):
        h = _v.finite_array("hessian", hessian, ndim=2)
        if h.shape[0] != h.shape[1] or not np.allclose(h, h.T, rtol=0, atol=1e-12 * max(1, np.abs(h).max())):
            raise ValueError(f"hessian: expected a symmetric square matrix, got shape {h.shape}"
                             + (f": {h.tolist()}" if h.size <= 36 else ""))
        dim = h.shape[0]
        self.dim = dim
        self.hessian_matrix = 0.5 * (h + h.T)
        self.center = np.zeros(dim) if center is None else _v.finite_array("center", center, shape=(dim,))
        if noise_cov is None:
            self.noise_cov = np.zeros((dim, dim))
            self.n_samples = 1 if n_samples is None else _v.integer("n_samples", n_samples, low=1)
            self.offsets = np.zeros((self.n_samples, dim))
        else:
            self.noise_cov = _v.symmetric_psd("noise_cov", noise_cov, dim)
            self.n_samples = _v.integer("n_samples", 2 * dim if n_samples is None else n_samples,
                                        low=dim + 1)
            w, v = np.linalg.eigh(self.noise_cov)
            root = v * np.sqrt(np.clip(w, 0.0, None))
            self.offsets = np.sqrt(self.n_samples) * _dct_basis(self.n_samples, dim) @ root.T
        self.data = (self.hessian_matrix, self.offsets, self.center)

    def loss(self, theta):
        d = np.asarray(theta, dtype=np.float64) - self.center
        return 0.5 * d @ self.hessian_matrix @ d

    def sample_losses(self, theta, idx=None):
        d = np.asarray(theta, dtype=np.float64) - self.center
        a = self.offsets if idx is None else self.offsets[np.asarray(idx)]
        return 0.5 * d @ self.hessian_matrix @ d + a @ d

    def sample_grads(self, theta, idx=None):
        d = np.asarray(theta, dtype=np.float64) - self.center
        a = self.offsets if idx is None else self.offsets[np.asarray(idx)]
        return self.hessian_matrix @ d + a

    def grad(self, theta):
        return self.hessian_matrix @ (np.asarray(theta, dtype=np.float64) - self.center)

    def hessian(self, theta):
        return self.hessian_matrix.copy()

    def batch_hvp(self, theta, idx, v):
        return self.hessian_matrix @ np.asarray(v, dtype=np.float64)

    def params(self):
        return {"hessian": self.hessian_matrix.tolist(), "noise_cov": self.noise_cov.tolist(),
                "center": self.center.tolist()}


@jit
def _sym_mv(h, theta, c, out):
    """``out = H (θ − c)``."""
    n = theta.shape[0]
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += h[i, j] * (theta[j] - c[j])
        out[i] = acc


@jit
def quadratic_loss(theta, data):
    h, _, c = data
    acc = 0.0
    for i in range(theta.shape[0]):
        row = 0.0
        for j in range(theta.shape[0]):
            row += h[i, j] * (theta[j] - c[j])
        acc += (theta[i] - c[i]) * row
    return 0.5 * acc


@jit
def quadratic_grad(theta, data, out):
    h, _, c = data
    _sym_mv(h, theta, c, out)


@jit
def quadratic_batch_grad(theta, data, idx, out):
    h, a, c = data
    _sym_mv(h, theta, c, out)
    inv_b = 1.0 / idx.shape[0]
    for k in range(idx.shape[0]):
        for j in range(out.shape[0]):
            out[j] += a[idx[k], j] * inv_b


@jit
def quadratic_sample_grads(theta, data, idx, out):
    h, a, c = data
    _sym_mv(h, theta, c, out[0])
    for k in range(idx.shape[0] - 1, -1, -1):  # row 0 holds H δ until last
        for j in range(theta.shape[0]):
            out[k, j] = out[0, j] + a[idx[k], j]


@jit
def quadratic_batch_hvp(theta, data, idx, v, out):
    quadratic_hvp(theta, data, v, out)  # every ℓ_i has the Hessian H


@jit
def quadratic_hvp(theta, data, v, out):
    h = data[0]
    for i in range(v.shape[0]):
        acc = 0.0
        for j in range(v.shape[0]):
            acc += h[i, j] * v[j]
        out[i] = acc


class LinearRegression(Model):
    """Least squares ``L(θ) = (1/2N) Σ_n (x_nᵀθ − y_n)²``.

    Per-sample gradients ``x_n (x_nᵀθ − y_n)`` are affine in ``θ``: the gradient noise is
    state-dependent (it grows with the residuals), yet SGD's first two moments are closed
    (:func:`analysis.stationary.linear_sgd_moments`).

    Parameters
    ----------
    X : array_like, (N, dim)
        Inputs.
    y : array_like, (N,)
        Targets.
    """


    def __init__(self, X, y):
        self.X = _v.finite_array("X", X, ndim=2)
        self.n_samples, self.dim = self.X.shape
        self.y = _v.finite_array("y", y, shape=(self.n_samples,))
        self.data = (self.X, self.y)
        self.teacher = None

    @classmethod
    def teacher_student(cls, n_samples, dim, noise=0.0, rng=None):
        """Gaussian inputs ``x_n ~ N(0, I)``, teacher ``θ* ~ N(0, I/dim)``,
        ``y_n = x_nᵀθ* + noise · ε_n`` with ``ε_n ~ N(0, 1)``. The teacher is kept in
        ``.teacher``."""
        n_samples = _v.integer("n_samples", n_samples, low=1)
        dim = _v.integer("dim", dim, low=1)
        noise = _v.real("noise", noise, low=0.0)
        gen = np.random.default_rng(as_seed_sequence(rng))
        X = gen.standard_normal((n_samples, dim))
        teacher = gen.standard_normal(dim) / np.sqrt(dim)
        model = cls(X, X @ teacher + noise * gen.standard_normal(n_samples))
        model.teacher = teacher
        return model

    def minimizer(self):
        """The least-squares solution ``θ̂`` (minimum norm if ``XᵀX`` is singular)."""
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]

    def loss(self, theta):
        r = self.X @ np.asarray(theta, dtype=np.float64) - self.y
        return 0.5 * np.mean(r * r)

    def sample_losses(self, theta, idx=None):
        X, y = (self.X, self.y) if idx is None else (self.X[np.asarray(idx)], self.y[np.asarray(idx)])
        return 0.5 * (X @ np.asarray(theta, dtype=np.float64) - y) ** 2

    def sample_grads(self, theta, idx=None):
        X, y = (self.X, self.y) if idx is None else (self.X[np.asarray(idx)], self.y[np.asarray(idx)])
        return X * (X @ np.asarray(theta, dtype=np.float64) - y)[:, None]

    def hessian(self, theta):
        return self.X.T @ self.X / self.n_samples

    def output_jvp(self, theta, v, idx=None):
        """``J_n v = x_nᵀ v`` for the samples ``idx`` (all if None), shape ``(b, 1)``."""
        X = self.X if idx is None else self.X[np.asarray(idx)]
        return (X @ np.asarray(v, dtype=np.float64))[:, None]

    def output_vjp(self, theta, u, idx=None):
        """``Σ_n x_n u_n`` for output cotangents ``u`` of shape ``(b, 1)``."""
        X = self.X if idx is None else self.X[np.asarray(idx)]
        return X.T @ np.asarray(u, dtype=np.float64)[:, 0]

    def sample_output_grads(self, theta, idx=None):
        """``∇_θ f_n = x_n`` (targets ``y``: label-noise SGD), shape ``(b, dim)``."""
        return (self.X if idx is None else self.X[np.asarray(idx)]).copy()

    def batch_hvp(self, theta, idx, v):
        Xb = self.X[np.asarray(idx)]
        return Xb.T @ (Xb @ np.asarray(v, dtype=np.float64)) / len(idx)

    def params(self):
        digest = hashlib.sha256(self.X.tobytes() + self.y.tobytes()).hexdigest()[:16]
        return {"data_sha256": digest}


# Kernels index rows as x[n, j] with n hoisted: a row view per sample (x[n]) or a helper call
# per sample costs more than the 2·dim flops it feeds (measured 2x on N = 1024, dim = 16).
@jit
def linreg_loss(theta, data):
    x, y = data
    acc = 0.0
    for n in range(x.shape[0]):
        r = -y[n]
        for j in range(theta.shape[0]):
            r += x[n, j] * theta[j]
        acc += r * r
    return 0.5 * acc / x.shape[0]


@jit(inline="always")
def _accumulate_sample_grad(x, y, theta, n, out):
    """``out += x_n (x_nᵀθ − y_n)``."""
    r = -y[n]
    for j in range(theta.shape[0]):
        r += x[n, j] * theta[j]
    for j in range(theta.shape[0]):
        out[j] += r * x[n, j]


@jit
def linreg_batch_grad(theta, data, idx, out):
    x, y = data
    for j in range(out.shape[0]):
        out[j] = 0.0
    for k in range(idx.shape[0]):
        _accumulate_sample_grad(x, y, theta, idx[k], out)
    for j in range(out.shape[0]):
        out[j] /= idx.shape[0]


@jit
def linreg_grad(theta, data, out):
    x, y = data
    for j in range(out.shape[0]):
        out[j] = 0.0
    for n in range(x.shape[0]):
        _accumulate_sample_grad(x, y, theta, n, out)
    for j in range(out.shape[0]):
        out[j] /= x.shape[0]


@jit
def linreg_sample_grads(theta, data, idx, out):
    x, y = data
    for k in range(idx.shape[0]):
        n = idx[k]
        r = -y[n]
        for j in range(theta.shape[0]):
            r += x[n, j] * theta[j]
        for j in range(theta.shape[0]):
            out[k, j] = r * x[n, j]


@jit
def linreg_sample_output_grads(theta, data, idx, out):
    """``out[k] = x_{idx[k]}``: the output gradient of a linear model."""
    x = data[0]
    for k in range(idx.shape[0]):
        for j in range(theta.shape[0]):
            out[k, j] = x[idx[k], j]


@jit
def linreg_hvp(theta, data, v, out):
    x = data[0]
    d = v.shape[0]
    for j in range(d):
        out[j] = 0.0
    for n in range(x.shape[0]):
        xv = 0.0
        for j in range(d):
            xv += x[n, j] * v[j]
        for j in range(d):
            out[j] += xv * x[n, j]
    inv_n = 1.0 / x.shape[0]
    for j in range(d):
        out[j] *= inv_n


@jit
def linreg_batch_hvp(theta, data, idx, v, out):
    x = data[0]
    d = v.shape[0]
    for j in range(d):
        out[j] = 0.0
    for k in range(idx.shape[0]):
        n = idx[k]
        xv = 0.0
        for j in range(d):
            xv += x[n, j] * v[j]
        for j in range(d):
            out[j] += xv * x[n, j]
    for j in range(d):
        out[j] /= idx.shape[0]


Quadratic.kernels = KernelSpec.of(loss=quadratic_loss, grad=quadratic_grad, hvp=quadratic_hvp, batch_grad=quadratic_batch_grad, sample_grads=quadratic_sample_grads, batch_hvp=quadratic_batch_hvp)
LinearRegression.kernels = KernelSpec.of(loss=linreg_loss, grad=linreg_grad, hvp=linreg_hvp, batch_grad=linreg_batch_grad, sample_grads=linreg_sample_grads, batch_hvp=linreg_batch_hvp, sample_output_grads=linreg_sample_output_grads)
