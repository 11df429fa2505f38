"""A one-hidden-layer tanh network ``f(x) = Σ_j a_j tanh(w_j x + b_j)`` on scalar data, with
the MSE loss; the edge-of-stability example of Cohen et al. (ICLR 2021) fits Chebyshev
polynomials on Chebyshev nodes.

``θ = [w (h), b (h), a (h)]``. Per-sample gradients with ``r = f(x) − y`` and
``s_j = tanh(u_j)``, ``u_j = w_j x + b_j``: ``∂a_j = r s_j``, ``∂w_j = r a_j s'_j x``,
``∂b_j = r a_j s'_j``. Hessian-vector products are exact: ``H v = (1/N) Σ_n (J_n·v) J_n +
r_n ∇²f_n v`` with ``s' = 1 − s²`` and ``s'' = −2 s s'``.
"""
import numpy as np

from landscape_sde import checks as _v
from landscape_sde._kernels.jit import jit
from landscape_sde.model import KernelSpec, Model
from landscape_sde.rng import as_seed_sequence

__all__ = ["TanhNetwork"]


class TanhNetwork(Model):
    """``f(x) = Σ_j a_j tanh(w_j x + b_j)`` with ``h`` hidden units.

    Parameters
    ----------
    width : int
        ``h >= 1``.
    x, y : array_like (N,)
        Scalar inputs and targets.
    """


    def __init__(self, width, x, y):
        self.width = _v.integer("width", width, low=1)
        self.x = _v.finite_array("x", x, ndim=1)
        self.y = _v.finite_array("y", y, shape=(self.x.size,))
        self.n_samples = self.x.size
        self.dim = 3 * self.width
        self.data = (self.x, self.y)

    @classmethod
    def chebyshev(cls, width=100, degree=3, n_samples=20):
        """Targets ``y = T_degree(x)`` on the ``n_samples`` Chebyshev nodes of [−1, 1]."""
        n = _v.integer("n_samples", n_samples, low=1)
        x = np.cos(np.pi * (np.arange(n) + 0.5) / n)
        y = np.polynomial.chebyshev.chebval(x, np.eye(_v.integer("degree", degree, low=0) + 1)[-1])
        return cls(width, x, y)

    def init(self, rng=None):
        """``w, b ~ N(0, 1)``, ``a ~ N(0, 1/h)``."""
        gen = np.random.default_rng(as_seed_sequence(rng))
        h = self.width
        return np.concatenate([gen.standard_normal(h), gen.standard_normal(h),
                               gen.standard_normal(h) / np.sqrt(h)])

    def _parts(self, theta, x):
        h = self.width
        w, b, a = theta[:h], theta[h:2 * h], theta[2 * h:]
        s = np.tanh(np.outer(x, w) + b)
        return w, b, a, s

    def sample_losses(self, theta, idx=None):
        x, y = (self.x, self.y) if idx is None else (self.x[np.asarray(idx)], self.y[np.asarray(idx)])
        _, _, a, s = self._parts(np.asarray(theta, dtype=float), x)
        return 0.5 * (s @ a - y) ** 2

    def loss(self, theta):
        return float(np.mean(self.sample_losses(theta)))

    def sample_grads(self, theta, idx=None):
        x, y = (self.x, self.y) if idx is None else (self.x[np.asarray(idx)], self.y[np.asarray(idx)])
        _, _, a, s = self._parts(np.asarray(theta, dtype=float), x)
        r = s @ a - y
        ds = 1 - s * s
        return np.concatenate([(r * x)[:, None] * a * ds, r[:, None] * a * ds, r[:, None] * s], axis=1)

    def hvp(self, theta, v):
        theta = np.asarray(theta, dtype=float)
        v = np.asarray(v, dtype=float)
        h = self.width
        _, _, a, s = self._parts(theta, self.x)
        x = self.x[:, None]
        r = (s @ a - self.y)[:, None]
        ds, vw, vb, va = 1 - s * s, v[:h], v[h:2 * h], v[2 * h:]
        dds = -2 * s * ds
        J = np.concatenate([a * ds * x, a * ds, s], axis=1)
        jv = J @ v
        gn = jv[:, None] * J
        res = np.concatenate([ds * x * va + a * dds * x * x * vw + a * dds * x * vb,
                              ds * va + a * dds * x * vw + a * dds * vb,
                              ds * x * vw + ds * vb], axis=1) * r
        return (gn + res).mean(axis=0)

    def parameter_blocks(self):
        """The parameter groups as named slices of ``θ``: input weights ``w``, biases ``b``
        and output weights ``a``."""
        h = self.width
        return {"w": slice(0, h), "b": slice(h, 2 * h), "a": slice(2 * h, 3 * h)}

    def _jacobian(self, theta, idx):
        """Output Jacobian rows ``J_n = ∂f(x_n)/∂θ = [a s' x_n, a s', s]``, shape ``(b, dim)``."""
        x = self.x if idx is None else self.x[np.asarray(idx)]
        _, _, a, s = self._parts(np.asarray(theta, dtype=float), x)
        ds = 1 - s * s
        return np.concatenate([a * ds * x[:, None], a * ds, s], axis=1)

    def output_jvp(self, theta, v, idx=None):
        """``J_n v`` for the samples ``idx`` (all if None), shape ``(b, 1)``."""
        return (self._jacobian(theta, idx) @ np.asarray(v, dtype=float))[:, None]

    def output_vjp(self, theta, u, idx=None):
        """``Σ_n J_nᵀ u_n`` for output cotangents ``u`` of shape ``(b, 1)``."""
        return self._jacobian(theta, idx).T @ np.asarray(u, dtype=float)[:, 0]

    def hessian(self, theta):
        return np.stack([self.hvp(theta, e) for e in np.eye(self.dim)], axis=1)

    def params(self):
        return {"width": self.width, "n_samples": self.n_samples}


@jit
def _add_sample(theta, x, y, n, out, scale, v, hv):
    """``out += scale ∇ℓ_n``; with ``hv.size > 0`` also ``hv += scale ∇²ℓ_n v``. Returns ℓ_n."""
    h = theta.shape[0] // 3
    xn = x[n]
    f = 0.0
    for j in range(h):
        f += theta[2 * h + j] * np.tanh(theta[j] * xn + theta[h + j])
    r = f - y[n]
    jv = 0.0
    if hv.shape[0] > 0:
        for j in range(h):
            s = np.tanh(theta[j] * xn + theta[h + j])
            ds = 1.0 - s * s
            a = theta[2 * h + j]
            jv += a * ds * xn * v[j] + a * ds * v[h + j] + s * v[2 * h + j]
    for j in range(h):
        s = np.tanh(theta[j] * xn + theta[h + j])
        ds = 1.0 - s * s
        a = theta[2 * h + j]
        out[j] += scale * r * a * ds * xn
        out[h + j] += scale * r * a * ds
        out[2 * h + j] += scale * r * s
        if hv.shape[0] > 0:
            dds = -2.0 * s * ds
            vw, vb, va = v[j], v[h + j], v[2 * h + j]
            hv[j] += scale * (jv * a * ds * xn + r * (ds * xn * va + a * dds * xn * xn * vw + a * dds * xn * vb))
            hv[h + j] += scale * (jv * a * ds + r * (ds * va + a * dds * xn * vw + a * dds * vb))
            hv[2 * h + j] += scale * (jv * s + r * (ds * xn * vw + ds * vb))
    return 0.5 * r * r


@jit
def tanhnet_loss(theta, data):
    x, y = data
    scratch = np.zeros(theta.shape[0])
    acc = 0.0
    for n in range(x.shape[0]):
        acc += _add_sample(theta, x, y, n, scratch, 0.0, scratch, scratch[:0])
    return acc / x.shape[0]


@jit
def tanhnet_batch_grad(theta, data, idx, out):
    x, y = data
    out[:] = 0.0
    for k in range(idx.shape[0]):
        _add_sample(theta, x, y, idx[k], out, 1.0 / idx.shape[0], out, out[:0])


@jit
def tanhnet_grad(theta, data, out):
    tanhnet_batch_grad(theta, data, np.arange(data[0].shape[0]), out)


@jit
def tanhnet_sample_grads(theta, data, idx, out):
    x, y = data
    for k in range(idx.shape[0]):
        out[k, :] = 0.0
        _add_sample(theta, x, y, idx[k], out[k], 1.0, out[k], out[k, :0])


@jit
def tanhnet_batch_hvp(theta, data, idx, v, out):
    x, y = data
    scratch = np.zeros(theta.shape[0])
    out[:] = 0.0
    for k in range(idx.shape[0]):
        _add_sample(theta, x, y, idx[k], scratch, 1.0 / idx.shape[0], v, out)


@jit
def tanhnet_hvp(theta, data, v, out):
    tanhnet_batch_hvp(theta, data, np.arange(data[0].shape[0]), v, out)


TanhNetwork.kernels = KernelSpec.of(loss=tanhnet_loss, grad=tanhnet_grad, hvp=tanhnet_hvp, batch_grad=tanhnet_batch_grad, sample_grads=tanhnet_sample_grads, batch_hvp=tanhnet_batch_hvp)
