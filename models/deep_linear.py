"""Deep linear networks ``f(x) = W_L ⋯ W_1 x`` with the MSE loss, on teacher-student data.

``L(θ) = (1/2N) Σ_n ‖W_L ⋯ W_1 x_n − y_n‖²``; ``θ`` concatenates the layers, each row-major:
``W_l`` has shape ``(d_l, d_{l−1})`` for ``widths = [d_0, …, d_L]``. The compiled kernels
work on whole batches with matrix products (BLAS through numba's ``np.dot``): forward
``A_l = W_l A_{l−1}`` with ``A_0 = X_Bᵀ``, backward ``G_L = R / b``, ``∂L/∂W_l = G_l A_{l−1}ᵀ``,
``G_{l−1} = W_lᵀ G_l``. Hessian-vector products are exact (Pearlmutter's R-operator: a forward
tangent pass ``Ȧ_l = V_l A_{l−1} + W_l Ȧ_{l−1}`` and the matching backward pass), not finite
differences.
"""
import numpy as np

from landscape_sde import checks as _v
from landscape_sde._kernels.jit import jit
from landscape_sde.model import KernelSpec, Model
from landscape_sde.rng import as_seed_sequence

__all__ = ["DeepLinearNetwork"]


def _check_widths(widths, name="widths"):
    """A sequence of at least two positive integer layer widths ``[d_in, ..., d_out]``."""
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"{name}: expected a sequence of layer widths [d_in, ..., d_out], got "
                        f"{widths!r}")
    out = tuple(_v.integer(f"{name}[{i}]", w, low=1) for i, w in enumerate(widths))
    if len(out) < 2:
        raise ValueError(f"{name}: expected at least [d_in, d_out], got {widths!r}")
    return out


class DeepLinearNetwork(Model):
    """Deep linear network with MSE loss.

    Parameters
    ----------
    widths : sequence of int
        ``[d_0, d_1, …, d_L]``, input to output (``L >= 1``).
    X : array_like, (N, d_0)
        Inputs.
    Y : array_like, (N, d_L)
        Targets.
    """


    def __init__(self, widths, X, Y):
        self.widths = _check_widths(widths)
        self.X = _v.finite_array("X", X, ndim=2)
        self.Y = _v.finite_array("Y", Y, shape=(self.X.shape[0], None))
        for arr, name, end in ((self.X, "X", 0), (self.Y, "Y", -1)):
            if arr.shape[1] != self.widths[end]:
                raise ValueError(f"widths: widths[{end}] = {self.widths[end]} must equal the "
                                 f"number of columns of {name}, {arr.shape[1]}; got widths="
                                 f"{list(self.widths)} and {name} of shape {arr.shape}")
        self.n_samples = self.X.shape[0]
        sizes = [a * b for a, b in zip(self.widths[1:], self.widths[:-1])]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.dim = int(self.offsets[-1])
        self.data = (np.ascontiguousarray(self.X.T), np.ascontiguousarray(self.Y.T),
                     np.array(self.widths, dtype=np.int64), self.offsets)
        self.test_X = self.test_Y = None

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def teacher_student(cls, widths, n_samples, noise=0.0, n_test=0, rng=None, teacher_widths=None):
        """Gaussian inputs ``x ~ N(0, I)``, a random deep linear teacher of ``teacher_widths``
        (default: the student's), Xavier-normal; targets ``y = teacher(x) + noise · ε``.
        ``n_test`` held-out samples from the same teacher go to ``test_X``, ``test_Y``."""
        gen = np.random.default_rng(as_seed_sequence(rng))
        widths = list(_check_widths(widths))
        teacher = list(widths if teacher_widths is None else
                       _check_widths(teacher_widths, "teacher_widths"))
        if (teacher[0], teacher[-1]) != (widths[0], widths[-1]):
            raise ValueError(f"teacher_widths: expected the student's input and output widths "
                             f"{widths[0]} and {widths[-1]} at the ends, got {teacher}")
        n = _v.integer("n_samples", n_samples, low=1) + _v.integer("n_test", n_test, low=0)
        X = gen.standard_normal((n, widths[0]))
        T = np.eye(teacher[0])
        for a, b in zip(teacher[:-1], teacher[1:]):
            T = gen.normal(0.0, np.sqrt(2.0 / (a + b)), size=(b, a)) @ T
        Y = X @ T.T + _v.real("noise", noise, low=0.0) * gen.standard_normal((n, widths[-1]))
        model = cls(widths, X[:n_samples], Y[:n_samples])
        if n_test:
            model.test_X, model.test_Y = X[n_samples:], Y[n_samples:]
        return model

    @classmethod
    def edge_of_stability(cls, depth=20, width=50, rng=None):
        """The edge-of-stability setting: ``depth`` layers of ``width × width``,
        ``X = √width · Q`` with ``Q`` orthogonal (``width`` samples), ``Y = X Aᵀ`` with
        ``A_ij ~ N(0, 1)``."""
        gen = np.random.default_rng(as_seed_sequence(rng))
        Q, _ = np.linalg.qr(gen.standard_normal((width, width)))
        X = np.sqrt(width) * Q
        A = gen.standard_normal((width, width))
        return cls([width] * (depth + 1), X, X @ A.T)

    def init(self, rng=None, scale=1.0):
        """Xavier-normal initial parameters: ``W_l ~ N(0, scale² · 2/(d_l + d_{l−1}))``."""
        gen = np.random.default_rng(as_seed_sequence(rng))
        return np.concatenate([gen.normal(0.0, scale * np.sqrt(2.0 / (a + b)), size=a * b)
                               for a, b in zip(self.widths[:-1], self.widths[1:])])

    def layers(self, theta):
        """Views ``[W_1, …, W_L]`` of a flat parameter vector."""
        theta = np.asarray(theta, dtype=np.float64)
        return [theta[o:e].reshape(b, a) for o, e, a, b in
                zip(self.offsets[:-1], self.offsets[1:], self.widths[:-1], self.widths[1:])]

    def product(self, theta):
        """The end-to-end matrix ``W_L ⋯ W_1``."""
        P = np.eye(self.widths[0])
        for W in self.layers(theta):
            P = W @ P
        return P

    # --- NumPy references ------------------------------------------------------------------
    def sample_losses(self, theta, idx=None):
        X, Y = (self.X, self.Y) if idx is None else (self.X[np.asarray(idx)], self.Y[np.asarray(idx)])
        R = X @ self.product(theta).T - Y
        return 0.5 * np.sum(R * R, axis=1)

    def loss(self, theta):
        return float(np.mean(self.sample_losses(theta)))

    def test_loss(self, theta):
        """Loss on the held-out set (``teacher_student(..., n_test > 0)``)."""
        R = self.test_X @ self.product(theta).T - self.test_Y
        return 0.5 * float(np.mean(np.sum(R * R, axis=1)))

    def _backprop(self, theta, X, Y, v=None):
        """Mean gradient over the rows of X (and the HVP with ``v`` if given), in NumPy."""
        Ws = self.layers(theta)
        Vs = self.layers(v) if v is not None else None
        A = [X.T]
        dA = [np.zeros_like(X.T)]
        for i, W in enumerate(Ws):
            A.append(W @ A[-1])
            if Vs is not None:
                dA.append(Vs[i] @ A[-2] + W @ dA[-1])
        b = X.shape[0]
        G = (A[-1] - Y.T) / b
        dG = dA[-1] / b if Vs is not None else None
        grads, hv = [], []
        for i in range(len(Ws) - 1, -1, -1):
            grads.append(G @ A[i].T)
            if Vs is not None:
                hv.append(dG @ A[i].T + G @ dA[i].T)
                dG = Vs[i].T @ G + Ws[i].T @ dG
            G = Ws[i].T @ G
        flat = lambda parts: np.concatenate([p.ravel() for p in parts[::-1]])  # noqa: E731
        return flat(grads), (flat(hv) if Vs is not None else None)

    def grad(self, theta):
        return self._backprop(theta, self.X, self.Y)[0]

    def sample_grads(self, theta, idx=None):
        rows = range(self.n_samples) if idx is None else np.asarray(idx)
        return np.stack([self._backprop(theta, self.X[[n]], self.Y[[n]])[0] for n in rows])

    def hvp(self, theta, v):
        return self._backprop(theta, self.X, self.Y, np.asarray(v, dtype=np.float64))[1]

    def batch_hvp(self, theta, idx, v):
        idx = np.asarray(idx)
        return self._backprop(theta, self.X[idx], self.Y[idx], np.asarray(v, dtype=np.float64))[1]

    def parameter_blocks(self):
        """The layers as named slices of ``θ``: ``{"W1": slice, …, "WL": slice}``."""
        return {f"W{l + 1}": slice(int(o), int(e))
                for l, (o, e) in enumerate(zip(self.offsets[:-1], self.offsets[1:]))}

    def _rows(self, idx):
        return self.X if idx is None else self.X[np.asarray(idx)]

    def output_jvp(self, theta, v, idx=None):
        """Output Jacobian-vector products ``J_n v = ∂f(x_n)/∂θ · v`` for the samples ``idx``
        (all if None), shape ``(b, d_L)``: the tangent forward pass
        ``Ȧ_l = V_l A_{l−1} + W_l Ȧ_{l−1}``."""
        A = self._rows(idx).T
        dA = np.zeros_like(A)
        for W, V in zip(self.layers(theta), self.layers(v)):
            A, dA = W @ A, V @ A + W @ dA
        return dA.T

    def output_vjp(self, theta, u, idx=None):
        """``Σ_n J_nᵀ u_n`` for output cotangents ``u`` of shape ``(b, d_L)``: the backward pass
        ``∂/∂W_l = G_l A_{l−1}ᵀ``, ``G_{l−1} = W_lᵀ G_l`` from ``G_L = uᵀ``."""
        Ws = self.layers(theta)
        acts = [self._rows(idx).T]
        for W in Ws[:-1]:
            acts.append(W @ acts[-1])
        G, parts = np.asarray(u, dtype=np.float64).T, []
        for W, A in zip(Ws[::-1], acts[::-1]):
            parts.append((G @ A.T).ravel())
            G = W.T @ G
        return np.concatenate(parts[::-1])

    def hessian(self, theta):
        """Dense Hessian from ``dim`` exact HVPs (small networks only)."""
        if self.dim > 4000:
            raise ValueError(f"theta: a dense Hessian of dim {self.dim} is too large; use "
                             "analysis.curvature.sharpness (Lanczos on HVPs)")
        return np.stack([self.hvp(theta, e) for e in np.eye(self.dim)], axis=1)

    def params(self):
        return {"widths": list(self.widths), "n_samples": self.n_samples}


# --- compiled kernels ----------------------------------------------------------------------------
@jit
def _layer(theta, offsets, widths, l):
    """View of layer ``l`` (1-based) as a ``(d_l, d_{l−1})`` matrix."""
    return theta[offsets[l - 1]:offsets[l]].reshape(widths[l], widths[l - 1])


@jit
def _backprop(theta, xt, yt, widths, offsets, out, v, hv):
    """Mean gradient over the columns of ``xt`` into ``out``; with ``hv.size > 0`` also the
    Hessian-vector product with ``v`` into ``hv``. Returns the mean loss."""
    n_layers = widths.shape[0] - 1
    b = xt.shape[1]
    acts = [np.ascontiguousarray(xt)]
    tangents = [np.zeros_like(acts[0])]
    with_hv = hv.shape[0] > 0
    for l in range(1, n_layers + 1):
        W = _layer(theta, offsets, widths, l)
        acts.append(np.dot(W, acts[l - 1]))
        if with_hv:
            tangents.append(np.dot(_layer(v, offsets, widths, l), acts[l - 1]) + np.dot(W, tangents[l - 1]))
    R = acts[n_layers] - yt
    loss = 0.5 * np.sum(R * R) / b
    G = R / b
    dG = tangents[n_layers] / b if with_hv else G
    for l in range(n_layers, 0, -1):
        W = _layer(theta, offsets, widths, l)
        _layer(out, offsets, widths, l)[:, :] = np.dot(G, acts[l - 1].T)
        if with_hv:
            V = _layer(v, offsets, widths, l)
            _layer(hv, offsets, widths, l)[:, :] = np.dot(dG, acts[l - 1].T) + np.dot(G, tangents[l - 1].T)
            dG = np.dot(V.T, G) + np.dot(W.T, dG)
        G = np.dot(W.T, G)
    return loss


@jit
def dln_loss(theta, data):
    xt, yt, widths, offsets = data
    scratch = np.empty(theta.shape[0])
    return _backprop(theta, xt, yt, widths, offsets, scratch, theta, scratch[:0])


@jit
def dln_grad(theta, data, out):
    xt, yt, widths, offsets = data
    _backprop(theta, xt, yt, widths, offsets, out, theta, out[:0])


@jit
def dln_batch_grad(theta, data, idx, out):
    xt, yt, widths, offsets = data
    _backprop(theta, np.ascontiguousarray(xt[:, idx]), np.ascontiguousarray(yt[:, idx]),
              widths, offsets, out, theta, out[:0])


@jit
def dln_sample_grads(theta, data, idx, out):
    xt, yt, widths, offsets = data
    for k in range(idx.shape[0]):
        dln_batch_grad(theta, data, idx[k:k + 1], out[k])


@jit
def dln_batch_hvp(theta, data, idx, v, out):
    xt, yt, widths, offsets = data
    scratch = np.empty(theta.shape[0])
    _backprop(theta, np.ascontiguousarray(xt[:, idx]), np.ascontiguousarray(yt[:, idx]),
              widths, offsets, scratch, v, out)


@jit
def dln_hvp(theta, data, v, out):
    xt, yt, widths, offsets = data
    scratch = np.empty(theta.shape[0])
    _backprop(theta, xt, yt, widths, offsets, scratch, v, out)


DeepLinearNetwork.kernels = KernelSpec.of(loss=dln_loss, grad=dln_grad, hvp=dln_hvp, batch_grad=dln_batch_grad, sample_grads=dln_sample_grads, batch_hvp=dln_batch_hvp)
