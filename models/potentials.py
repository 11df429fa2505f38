"""Classic potentials ``U(θ)`` for Langevin dynamics (finite sums with ``N = 1``, see
:class:`landscape_sde.model.Potential`)."""
import numpy as np
from numpy.polynomial import polynomial as P

from landscape_sde import checks as _v
from landscape_sde._kernels.jit import jit
from landscape_sde.model import KernelSpec, Potential

__all__ = ["DoubleWell", "PolynomialPotential"]


class DoubleWell(Potential):
    """``U(θ) = a (θ_0² − 1)² + (k/2) Σ_{j≥1} θ_j²``: minima at ``θ_0 = ±1``, barrier ``a``.

    Curvature at the minima ``U''(±1) = 8a`` along ``θ_0`` and ``k`` across; at the saddle
    ``U''(0) = −4a``. The default ``a = 1, k = 4`` in two dimensions is
    ``(x² − 1)² + 2y²``.

    Parameters
    ----------
    dim : int
        Number of coordinates (``>= 1``).
    barrier : float
        ``a > 0``.
    stiffness : float
        ``k > 0``, curvature of the transverse harmonic directions.
    """


    def __init__(self, dim=2, barrier=1.0, stiffness=4.0):
        self.dim = _v.integer("dim", dim, low=1)
        self.barrier = _v.positive("barrier", barrier)
        self.stiffness = _v.positive("stiffness", stiffness)
        self.data = (np.array([self.barrier, self.stiffness]),)

    def loss(self, theta):
        t = np.asarray(theta, dtype=np.float64)
        return self.barrier * (t[0] ** 2 - 1.0) ** 2 + 0.5 * self.stiffness * np.sum(t[1:] ** 2)

    def grad(self, theta):
        t = np.asarray(theta, dtype=np.float64)
        g = self.stiffness * t
        g[0] = 4.0 * self.barrier * t[0] * (t[0] ** 2 - 1.0)
        return g

    def hessian(self, theta):
        t = np.asarray(theta, dtype=np.float64)
        h = self.stiffness * np.eye(self.dim)
        h[0, 0] = self.barrier * (12.0 * t[0] ** 2 - 4.0)
        return h

    def params(self):
        return {"barrier": self.barrier, "stiffness": self.stiffness}


@jit
def double_well_loss(theta, data):
    a, k = data[0][0], data[0][1]
    x = theta[0]
    acc = 0.0
    for j in range(1, theta.shape[0]):
        acc += theta[j] * theta[j]
    return a * (x * x - 1.0) ** 2 + 0.5 * k * acc


@jit
def double_well_grad(theta, data, out):
    a, k = data[0][0], data[0][1]
    x = theta[0]
    out[0] = 4.0 * a * x * (x * x - 1.0)
    for j in range(1, theta.shape[0]):
        out[j] = k * theta[j]


@jit
def double_well_hvp(theta, data, v, out):
    a, k = data[0][0], data[0][1]
    out[0] = a * (12.0 * theta[0] * theta[0] - 4.0) * v[0]
    for j in range(1, theta.shape[0]):
        out[j] = k * v[j]


class PolynomialPotential(Potential):
    """A polynomial potential in one or two variables.

    ``U(x) = Σ_i c_i x^i`` for a 1-D coefficient array, ``U(x, y) = Σ_ij c_ij x^i y^j`` for a
    2-D coefficient matrix (NumPy's ``polyval``/``polyval2d`` convention: ``c[i, j]``
    multiplies ``x^i y^j``). For general expressions use :mod:`landscape_sde.symbolic`.

    Parameters
    ----------
    coeffs : array_like, (n,) or (n, m)
        Coefficients, lowest degree first.
    """


    def __init__(self, coeffs):
        c = _v.finite_array("coeffs", coeffs, ndim=(1, 2))
        self.dim = c.ndim
        self.coeffs = c
        c2 = c[:, None] if c.ndim == 1 else c
        cx = P.polyder(c2, axis=0)
        cy = P.polyder(c2, axis=1) if c2.shape[1] > 1 else np.zeros((1, 1))
        pad = lambda m: np.pad(m, ((0, c2.shape[0] - m.shape[0]), (0, c2.shape[1] - m.shape[1])))  # noqa: E731
        self._derivs = [c2] + [pad(m) for m in (cx, cy, P.polyder(cx, axis=0),
                                                 P.polyder(cx, axis=1) if cx.shape[1] > 1 else np.zeros((1, 1)),
                                                 P.polyder(cy, axis=1) if cy.shape[1] > 1 else np.zeros((1, 1)))]
        self.data = (np.ascontiguousarray(np.stack(self._derivs)),)

    def _eval(self, k, theta):
        t = np.asarray(theta, dtype=np.float64)
        return P.polyval2d(t[0], t[1] if self.dim == 2 else 0.0, self._derivs[k])

    def loss(self, theta):
        return float(self._eval(0, theta))

    def grad(self, theta):
        return np.array([self._eval(k, theta) for k in range(1, 1 + self.dim)])

    def hessian(self, theta):
        xx, xy, yy = (self._eval(k, theta) for k in (3, 4, 5))
        return np.array([[xx]]) if self.dim == 1 else np.array([[xx, xy], [xy, yy]])

    def params(self):
        return {"coeffs": self.coeffs.tolist()}


@jit
def _polyval2d(c, x, y):
    """Horner in ``x`` of Horner in ``y``."""
    acc = 0.0
    for i in range(c.shape[0] - 1, -1, -1):
        row = 0.0
        for j in range(c.shape[1] - 1, -1, -1):
            row = row * y + c[i, j]
        acc = acc * x + row
    return acc


@jit
def _xy(theta):
    return theta[0], (theta[1] if theta.shape[0] > 1 else 0.0)


@jit
def polynomial_loss(theta, data):
    x, y = _xy(theta)
    return _polyval2d(data[0][0], x, y)


@jit
def polynomial_grad(theta, data, out):
    x, y = _xy(theta)
    for k in range(theta.shape[0]):
        out[k] = _polyval2d(data[0][1 + k], x, y)


@jit
def polynomial_hvp(theta, data, v, out):
    x, y = _xy(theta)
    d = data[0]
    hxx = _polyval2d(d[3], x, y)
    if theta.shape[0] == 1:
        out[0] = hxx * v[0]
    else:
        hxy = _polyval2d(d[4], x, y)
        hyy = _polyval2d(d[5], x, y)
        out[0] = hxx * v[0] + hxy * v[1]
        out[1] = hxy * v[0] + hyy * v[1]


DoubleWell.kernels = KernelSpec.of(loss=double_well_loss, grad=double_well_grad, hvp=double_well_hvp)
PolynomialPotential.kernels = KernelSpec.of(loss=polynomial_loss, grad=polynomial_grad, hvp=polynomial_hvp)
