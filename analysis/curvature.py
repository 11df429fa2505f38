"""Curvature of a loss: sharpness ``S = λ_max(∇²L)``, the top-k Hessian eigenpairs (from
:mod:`landscape_sde.hessian`: Lanczos on compiled HVPs, or dense), and the mini-batch
quantities of the edge of stochastic stability.
"""
import dataclasses

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla

from landscape_sde import checks as _v
from landscape_sde.hessian import Eigenpairs, _hvp_operator, hessian_eigenpairs
from landscape_sde.rng import as_generator, as_seed_sequence

__all__ = ["Eigenpairs", "Estimate", "Directions", "sharpness", "hessian_eigenpairs",
           "step_sharpness", "preconditioned_sharpness", "minibatch_sharpness",
           "sharpest_directions", "TRACKED", "tracker", "spectrum_tracker", "KINDS",
           "CurvatureOperator", "curvature_operator", "parameter_blocks", "TraceEstimate",
           "DiagEstimate", "hessian_trace", "hessian_diag", "hutchinson_variance",
           "SpectralDensity", "spectral_density", "marchenko_pastur", "wasserstein_1"]


def sharpness(model, theta, k=1, **kwargs):
    """``S = λ_max(∇²L(θ))`` (and, with ``k > 1``, the top-k eigenpairs): see
    :func:`hessian_eigenpairs`."""
    return hessian_eigenpairs(model, theta, k=k, **kwargs)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean over mini-batches with its standard error."""

    mean: float
    se: float
    n_batches: int


def step_sharpness(model, theta):
    """Full-batch step sharpness ``∇Lᵀ H ∇L / ‖∇L‖²``: the curvature along the GD step."""
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    g = np.empty(model.dim)
    model.compiled("grad")(theta, model.data, g)
    hg = np.empty(model.dim)
    model.compiled("hvp")(theta, model.data, g, hg)
    return float(g @ hg / (g @ g))


def preconditioned_sharpness(model, theta, P, *, method="auto", tol=1e-10, rng=None):
    """``λ_max(P⁻¹ H)`` for a positive diagonal preconditioner ``P`` (Adam's ``√v̂ + ε``),
    from the symmetric ``A = P^(−1/2) H P^(−1/2)``, which has the same eigenvalues.

    Parameters
    ----------
    model : landscape_sde.Model
    theta : array_like (dim,)
    P : array_like (dim,)
        The diagonal of ``P``, finite and ``> 0`` (a scalar is broadcast).
    method : {"auto", "dense", "lanczos"}
        ``auto``: dense for ``dim <= 500``, Lanczos on compiled HVPs otherwise.
    tol, rng : as in :func:`hessian_eigenpairs`.

    Returns
    -------
    Eigenpairs
        ``values[0] = λ_max(P⁻¹H)``; ``vectors[:, 0]`` the unit eigenvector ``u`` of ``A``
        (``P^(−1/2) u`` is the right eigenvector of ``P⁻¹H``); ``residuals`` ``‖Au − λu‖``.
        Adam with ``P`` frozen is stable while ``λ_max(P⁻¹H) < (2 + 2β₁)/((1 − β₁)η)``.
    """
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    P = np.broadcast_to(_v.finite_array("P", np.asarray(P, dtype=float)), (model.dim,))
    if not np.all(P > 0):
        raise ValueError(f"P: the diagonal preconditioner must be > 0, got min {P.min()!r}")
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"method: expected 'auto', 'dense' or 'lanczos', got {method!r}")
    d = 1.0 / np.sqrt(P)
    if method == "dense" or (method == "auto" and model.dim <= 500):
        A = d[:, None] * model.hessian(theta) * d[None, :]
        w, V = np.linalg.eigh(0.5 * (A + A.T))
        w, V = w[-1:], V[:, -1:]
        return Eigenpairs(w, V, np.linalg.norm(A @ V - V * w, axis=0), model.dim, "dense")
    hvp, count = _hvp_operator(model, theta)
    op = spla.LinearOperator((model.dim, model.dim), matvec=lambda u: d * hvp.matvec(d * np.ravel(u)),
                             dtype=np.float64)
    v0 = np.random.default_rng(as_seed_sequence(0 if rng is None else rng)).standard_normal(model.dim)
    w, V = spla.eigsh(op, k=1, which="LA", tol=tol, v0=v0)
    res = np.array([np.linalg.norm(op.matvec(V[:, 0]) - w[0] * V[:, 0])])
    return Eigenpairs(w, V, res, count[0], "lanczos")


def _batch_top_eigenvalue(model, theta, idx, tol):
    kernel = model.compiled("batch_hvp")

    def matvec(v):
        out = np.empty(model.dim)
        kernel(theta, model.data, idx, np.ascontiguousarray(np.ravel(v)), out)
        return out

    if model.dim <= 200:  # dense: dim batch-HVPs, exact
        H = np.stack([matvec(e) for e in np.eye(model.dim)], axis=1)
        return float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    op = spla.LinearOperator((model.dim, model.dim), matvec=matvec, dtype=np.float64)
    v0 = np.ones(model.dim) / np.sqrt(model.dim)
    return float(spla.eigsh(op, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)[0])


def minibatch_sharpness(model, theta, batch_size, *, replace=False, rel_tol=0.01, min_batches=20,
                        max_batches=2000, tol=1e-8, rng=None):
    """Mini-batch curvature quantities, each as an :class:`Estimate`:

    - ``minibs``: MiniBS ``E_B[λ_max(H_B)]`` (≥ S by convexity of λ_max);
    - ``batch_sharpness``: ``E_B[g_Bᵀ H_B g_B / ‖g_B‖²]``;
    - ``gni``: gradient-noise interaction ``E_B[g_Bᵀ H g_B] / ‖∇L‖²``.

    Batches are drawn as SGD draws them (``b`` distinct indices, or i.i.d. with
    ``replace=True``) until every relative standard error is below ``rel_tol`` (after at least
    ``min_batches``) or ``max_batches`` is reached. With ``b = N`` without replacement the
    batch is the full data set and all three equal their full-batch values (S, the step
    sharpness twice), with zero standard error.
    """
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    n = model.n_samples
    b = _v.integer("batch_size", batch_size, low=1, high=n)
    rel_tol = _v.positive("rel_tol", rel_tol)
    min_batches = _v.integer("min_batches", min_batches, low=2)
    max_batches = _v.integer("max_batches", max_batches, low=min_batches)
    tol = _v.real("tol", tol, low=0.0)
    gen = np.random.default_rng(as_seed_sequence(rng))
    grad_b, hvp_b = model.compiled("batch_grad"), model.compiled("batch_hvp")
    hvp = model.compiled("hvp")
    g_full = np.empty(model.dim)
    model.compiled("grad")(theta, model.data, g_full)
    g2 = float(g_full @ g_full)
    samples = {"minibs": [], "batch_sharpness": [], "gni": []}
    gb, hgb, hg = (np.empty(model.dim) for _ in range(3))
    for k in range(max_batches):
        idx = (gen.integers(0, n, size=b) if replace else gen.choice(n, size=b, replace=False)).astype(np.int64)
        grad_b(theta, model.data, idx, gb)
        hvp_b(theta, model.data, idx, gb, hgb)
        hvp(theta, model.data, gb, hg)
        samples["minibs"].append(_batch_top_eigenvalue(model, theta, idx, tol))
        samples["batch_sharpness"].append(gb @ hgb / (gb @ gb))
        samples["gni"].append(gb @ hg / g2)
        if k + 1 >= min_batches:
            done = all(np.std(v, ddof=1) / np.sqrt(len(v)) <= rel_tol * abs(np.mean(v))
                       for v in samples.values())
            if done or (not replace and b == n):
                break
    return {name: Estimate(float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(len(v))), len(v))
            for name, v in samples.items()}


@dataclasses.dataclass(frozen=True)
class Directions:
    """Sharpest-direction diagnostics at one point (Jastrzębski et al., ICLR 2019).

    Attributes
    ----------
    eigenvalues : ndarray (k,)
        Top-k Hessian eigenvalues ``λ_i``.
    cos_grad : ndarray (k,)
        ``|cos(∇L, e_i)|``.
    cos_batch : ndarray (k,) or None
        ``|cos(g_B, e_i)|`` for the given batch.
    cos_batch_grad : float or None
        ``cos(g_B, ∇L)``.
    step_loss_change : ndarray (k,)
        ``L(θ − η (∇L·e_i) e_i) − L(θ)``: the loss change of a full step along ``e_i`` alone;
        on a quadratic ``(∇L·e_i)² η (η λ_i / 2 − 1)``, not negative once ``η λ_i ≥ 2``.
    offsets, cross_sections : ndarray (m,), ndarray (k, m)
        ``L(θ + t e_i)`` for ``t`` in ``offsets``.
    """

    eigenvalues: np.ndarray
    cos_grad: np.ndarray
    cos_batch: np.ndarray
    cos_batch_grad: float
    step_loss_change: np.ndarray
    offsets: np.ndarray
    cross_sections: np.ndarray


def sharpest_directions(model, theta, lr, k=1, batch=None, offsets=None, **eig_kwargs):
    """Diagnostics of the top-``k`` Hessian directions at ``θ`` for learning rate ``lr``
    (see :class:`Directions`); ``batch``: indices of a mini-batch for ``g_B`` (optional);
    ``offsets``: positions of the loss cross-sections (default 41 points in ``±2/√λ_1``)."""
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    lr = _v.positive("lr", lr)
    pairs = hessian_eigenpairs(model, theta, k=k, **eig_kwargs)
    E = pairs.vectors
    loss = model.compiled("loss")
    g = np.empty(model.dim)
    model.compiled("grad")(theta, model.data, g)
    unit = lambda x: x / np.linalg.norm(x)  # noqa: E731
    cos_grad = np.abs(E.T @ unit(g))
    cos_batch = cos_bg = None
    if batch is not None:
        gb = np.empty(model.dim)
        model.compiled("batch_grad")(theta, model.data, np.asarray(batch, dtype=np.int64), gb)
        cos_batch = np.abs(E.T @ unit(gb))
        cos_bg = float(unit(gb) @ unit(g))
    l0 = loss(theta, model.data)
    step_change = np.array([loss(theta - lr * (g @ e) * e, model.data) - l0 for e in E.T])
    if offsets is None:
        offsets = np.linspace(-2, 2, 41) / np.sqrt(max(pairs.values[0], 1e-300))
    offsets = np.asarray(offsets, dtype=float)
    cross = np.array([[loss(theta + t * e, model.data) for t in offsets] for e in E.T])
    return Directions(pairs.values, cos_grad, cos_batch, cos_bg, step_change, offsets, cross)


TRACKED = ("sharpness", "step_sharpness", "minibs", "batch_sharpness", "gni", "cos_grad",
           "cos_batch", "step_loss_change", "preconditioned_sharpness", "hessian_trace",
           "gauss_newton_trace", "fisher_trace")


def _trace_quantity(q):
    """``(kind, block)`` of a trace quantity ``"{kind}_trace"`` or ``"{kind}_trace:{block}"``
    (``None`` if ``q`` is not one)."""
    head, _, block = q.partition(":")
    if head.endswith("_trace") and head[:-6] in KINDS:
        return head[:-6], block or None
    return None


def tracker(model, quantities, *, lr=None, batch_size=None, n_batches=20, tol=1e-6, n_probes=16,
            rng=None):
    """An observer for ``simulate(..., observe={name: (every, tracker(...))})`` that records
    curvature diagnostics along trajectories, one column per quantity, in the given order.

    Quantities (see :data:`TRACKED`): ``sharpness`` (λ_1 by Lanczos/dense), ``step_sharpness``,
    ``minibs``, ``batch_sharpness``, ``gni`` (means over ``n_batches`` fresh mini-batches of
    ``batch_size``, :func:`minibatch_sharpness`), and the sharpest-direction diagnostics along the
    top eigenvector ``e_1`` (:func:`sharpest_directions`, with one fresh batch and ``lr``):
    ``cos_grad`` ``|cos(∇L, e_1)|``, ``cos_batch`` ``|cos(g_B, e_1)|`` and ``step_loss_change``
    ``L(θ − η(∇L·e_1)e_1) − L(θ)``; ``preconditioned_sharpness`` ``λ_max(P⁻¹H)``
    (:func:`preconditioned_sharpness`), which needs the observer to receive the scheme's
    preconditioner: ``observe={name: (every, tracker(...), "preconditioner")}`` with
    :class:`landscape_sde.Adam` or :class:`landscape_sde.RMSProp`. Traces by Hutchinson with
    ``n_probes`` Rademacher probes (:func:`hessian_trace`): ``hessian_trace``,
    ``gauss_newton_trace``, ``fisher_trace``, and a block's share as ``"hessian_trace:W1"`` (any
    name of :func:`parameter_blocks`); traces of one kind share their probes, so the block
    columns sum to the total. Batches and probes come from one generator seeded by ``rng`` and
    advanced call after call, so a run with the same observer
    seed is reproducible.
    """
    quantities = tuple(quantities)
    blocks = parameter_blocks(model)
    traces = {q: _trace_quantity(q) for q in quantities if _trace_quantity(q)}
    unknown = [q for q in quantities if q not in TRACKED and q not in traces]
    unknown += [q for q, (_, b) in traces.items() if b is not None and b not in blocks]
    if unknown or not quantities:
        raise ValueError(f"quantities: expected a non-empty subset of {TRACKED} (traces also as "
                         f"'hessian_trace:BLOCK', BLOCK in {list(blocks)}), got {quantities!r}")
    batchy = {"minibs", "batch_sharpness", "gni", "cos_batch"} & set(quantities)
    if batchy:
        batch_size = _v.integer("batch_size", batch_size, low=1, high=model.n_samples)
    directional = {"cos_grad", "cos_batch", "step_loss_change"} & set(quantities)
    if directional:
        lr = _v.positive("lr", lr)
    n_batches = _v.integer("n_batches", n_batches, low=2)
    n_probes = _v.integer("n_probes", n_probes, low=2)
    if "gauss_newton" in {k for k, _ in traces.values()}:
        CurvatureOperator(model, np.zeros(model.dim), "gauss_newton")  # fails now if unsupported
    gen = np.random.default_rng(as_seed_sequence(rng))

    def one(theta, P):
        row = {}
        if "preconditioned_sharpness" in quantities:
            if P is None:
                raise ValueError("quantities: 'preconditioned_sharpness' needs the scheme's "
                                 "preconditioner; observe it as (every, tracker(...), "
                                 "'preconditioner')")
            row["preconditioned_sharpness"] = preconditioned_sharpness(model, theta, P, tol=tol).sharpness
        if {"minibs", "batch_sharpness", "gni"} & set(quantities):
            est = minibatch_sharpness(model, theta, batch_size, min_batches=n_batches,
                                      max_batches=n_batches, tol=tol, rng=gen.integers(2**63))
            row.update({name: e.mean for name, e in est.items()})
        if directional:
            batch = gen.choice(model.n_samples, batch_size, replace=False) if batchy else None
            d = sharpest_directions(model, theta, lr, k=1, batch=batch, offsets=[0.0], tol=tol)
            row.update(sharpness=d.eigenvalues[0], cos_grad=d.cos_grad[0],
                       step_loss_change=d.step_loss_change[0],
                       cos_batch=np.nan if d.cos_batch is None else d.cos_batch[0])
        elif "sharpness" in quantities:
            row["sharpness"] = hessian_eigenpairs(model, theta, tol=tol).sharpness
        if "step_sharpness" in quantities:
            row["step_sharpness"] = step_sharpness(model, theta)
        for kind in dict.fromkeys(k for k, _ in traces.values()):
            est = hessian_trace(model, theta, n_probes=n_probes, kind=kind, rng=gen.integers(2**63))
            for q, (k, b) in traces.items():
                if k == kind:
                    row[q] = est.value if b is None else est.blocks[b].value
        return [row[q] for q in quantities]

    def observer(thetas, P=None):
        rows = [one(t, None if P is None else P[i]) for i, t in enumerate(thetas)]
        return np.array(rows, dtype=np.float64).reshape(len(thetas), len(quantities))

    return observer


def spectrum_tracker(model, grid, width, *, n_probes, n_lanczos, kind="hessian", n_outliers=0,
                     batch_size=None, rng=None):
    """An observer recording the smoothed spectral density along trajectories: each replica's
    row has shape ``(2, len(grid))``, the density and its probe-to-probe standard error
    (:meth:`SpectralDensity.density`, outliers included). With ``batch_size`` each observation
    is the spectrum of a fresh mini-batch's curvature (``b`` distinct samples). Probes and
    batches come from one generator seeded by ``rng``, advanced call after call."""
    grid = _v.finite_array("grid", grid, ndim=1)
    width = _v.positive("width", width)
    n_probes = _v.integer("n_probes", n_probes, low=2)
    n_lanczos = _v.integer("n_lanczos", n_lanczos, low=1, high=model.dim)
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    if batch_size is not None:
        batch_size = _v.integer("batch_size", batch_size, low=1, high=model.n_samples)
    gen = np.random.default_rng(as_seed_sequence(rng))

    def one(theta):
        batch = None if batch_size is None else gen.choice(model.n_samples, batch_size, replace=False)
        sd = spectral_density(model, theta, n_probes=n_probes, n_lanczos=n_lanczos, kind=kind,
                              batch=batch, n_outliers=n_outliers, rng=gen.integers(2**63))
        return np.stack(sd.density(grid, width))

    return lambda thetas: np.stack([one(t) for t in thetas]).reshape(len(thetas), 2, grid.size)


# --- curvature operators: Hessian, Gauss-Newton, empirical Fisher --------------------------------
KINDS = ("hessian", "gauss_newton", "fisher")


def parameter_blocks(model):
    """Named slices of ``θ``: the model's own ``parameter_blocks()`` (the layers ``W1 … WL`` of
    a :class:`~models.deep_linear.DeepLinearNetwork`, ``w, b, a`` of a
    :class:`~models.tanh_network.TanhNetwork`) or one block ``"theta"``."""
    own = getattr(model, "parameter_blocks", None)
    return dict(own()) if own is not None else {"theta": slice(0, model.dim)}


class CurvatureOperator:
    """A symmetric curvature matrix of a model's (mini-batch) loss at ``θ``, applied by
    matrix-vector products, never formed.

    Kinds, for the mean ``L_B = (1/b) Σ_{n∈B} ℓ_n`` over a batch ``B`` (all samples by default):

    - ``hessian``: ``∇²L_B(θ)`` by the model's compiled exact HVP (``batch_hvp`` on a batch);
    - ``gauss_newton``: ``G = (1/b) Σ_n J_nᵀ J_n`` with ``J_n = ∂f(x_n)/∂θ`` the output
      Jacobian, the curvature of the MSE loss ``ℓ_n = ½‖f(x_n) − y_n‖²`` without its residual
      term ``Σ_k r_nk ∇²f_nk``; equal to the Hessian wherever every residual vanishes (an
      interpolating minimum). Needs the model's ``output_jvp`` and ``output_vjp``
      (``DeepLinearNetwork``, ``TanhNetwork``, ``LinearRegression``);
    - ``fisher``: the empirical Fisher ``F = (1/b) Σ_n ∇ℓ_n ∇ℓ_nᵀ`` from the compiled
      per-sample gradients (computed once, ``b × dim``). For the MSE loss
      ``F = (1/b) Σ_n J_nᵀ r_n r_nᵀ J_n``: it vanishes at an interpolating minimum.

    With ``block`` the operator is the diagonal block ``A_bb`` acting on that block's
    coordinates only (``dim`` is the block's size).

    Parameters
    ----------
    model : landscape_sde.Model
    theta : array_like (model.dim,)
    kind : {"hessian", "gauss_newton", "fisher"}
    batch : array_like of int, optional
        Sample indices of the mini-batch (repeats allowed); ``None``: the full batch.
    block : str, optional
        A name in :func:`parameter_blocks`.

    Attributes
    ----------
    kind, dim : str, int
    blocks : dict
        Name -> slice of the coordinates the operator acts on (one block when ``block`` is set).
    n_matvec : int
        Matrix-vector products applied so far.
    """

    def __init__(self, model, theta, kind="hessian", *, batch=None, block=None):
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
        self.theta = _v.finite_array("theta", theta, shape=(model.dim,))
        self.model, self.kind = model, kind
        if batch is not None:
            batch = np.asarray(batch)
            if (batch.ndim != 1 or batch.size == 0 or not np.issubdtype(batch.dtype, np.integer)
                    or batch.min() < 0 or batch.max() >= model.n_samples):
                raise ValueError(f"batch: expected a non-empty 1-D array of sample indices in "
                                 f"[0, {model.n_samples - 1}], got {batch!r}")
            batch = np.ascontiguousarray(batch, dtype=np.int64)
        self.batch = batch
        all_blocks = parameter_blocks(model)
        if block is not None and block not in all_blocks:
            raise ValueError(f"block: expected one of {list(all_blocks)}, got {block!r}")
        self.block = block
        self._slice = slice(0, model.dim) if block is None else all_blocks[block]
        self.dim = self._slice.stop - self._slice.start
        self.blocks = all_blocks if block is None else {block: slice(0, self.dim)}
        self.n_matvec = 0
        self._full = self._matvec_function()

    def _matvec_function(self):
        model, theta, idx = self.model, self.theta, self.batch
        if self.kind == "hessian":
            if idx is None:
                kernel = model.compiled("hvp")
                return lambda v, out: kernel(theta, model.data, v, out)
            kernel = model.compiled("batch_hvp")
            return lambda v, out: kernel(theta, model.data, idx, v, out)
        rows = np.arange(model.n_samples, dtype=np.int64) if idx is None else idx
        if self.kind == "fisher":
            G = np.empty((rows.size, model.dim))
            model.compiled("sample_grads")(theta, model.data, rows, G)

            def fisher(v, out):
                out[:] = G.T @ (G @ v) / rows.size
            return fisher
        if not (hasattr(model, "output_jvp") and hasattr(model, "output_vjp")):
            raise TypeError(f"kind: 'gauss_newton' needs the model's output_jvp and output_vjp "
                            f"(DeepLinearNetwork, TanhNetwork, LinearRegression have them); "
                            f"{model.name} has not")
        sel = None if idx is None else idx

        def gauss_newton(v, out):
            out[:] = model.output_vjp(theta, model.output_jvp(theta, v, sel), sel) / rows.size
        return gauss_newton

    def matvec(self, v):
        """``A v`` for ``v`` of shape ``(dim,)``."""
        v = np.asarray(v, dtype=np.float64).ravel()
        if v.shape != (self.dim,):
            raise ValueError(f"v: expected shape ({self.dim},), got {v.shape}")
        self.n_matvec += 1
        out = np.empty(self.model.dim)
        if self.block is None:
            self._full(np.ascontiguousarray(v), out)
            return out
        full = np.zeros(self.model.dim)
        full[self._slice] = v
        self._full(full, out)
        return out[self._slice].copy()

    def dense(self):
        """The matrix itself, from ``dim`` products (small ``dim`` only), symmetrised."""
        A = np.stack([self.matvec(e) for e in np.eye(self.dim)], axis=1)
        return 0.5 * (A + A.T)

    def as_linear_operator(self):
        """A :class:`scipy.sparse.linalg.LinearOperator` applying :meth:`matvec`."""
        return spla.LinearOperator((self.dim, self.dim), matvec=self.matvec, dtype=np.float64)

    def top_eigenpairs(self, k, *, tol=1e-8, rng=None):
        """The ``k`` largest eigenvalues (descending) and unit eigenvectors ``(dim, k)``: dense
        for ``dim <= 200``, implicitly restarted Lanczos (``eigsh``) otherwise."""
        k = _v.integer("k", k, low=1, high=max(1, self.dim - 1))
        if self.dim <= 200:
            w, V = np.linalg.eigh(self.dense())
        else:
            v0 = as_generator(rng).standard_normal(self.dim)
            w, V = spla.eigsh(self.as_linear_operator(), k=k, which="LA", tol=tol, v0=v0)
        order = np.argsort(w)[::-1][:k]
        return w[order], V[:, order]


def curvature_operator(model, theta, kind="hessian", *, batch=None, block=None):
    """The :class:`CurvatureOperator` of ``kind`` at ``θ`` (see there)."""
    return CurvatureOperator(model, theta, kind, batch=batch, block=block)


def _operator(model, theta, kind, batch, block):
    if isinstance(model, CurvatureOperator):
        return model
    return CurvatureOperator(model, theta, kind, batch=batch, block=block)


def _probe(gen, dim, probes):
    if probes == "rademacher":
        return gen.integers(0, 2, size=dim) * 2.0 - 1.0
    return gen.standard_normal(dim)


def _check_probes(probes):
    if probes not in ("rademacher", "gaussian"):
        raise ValueError(f"probes: expected 'rademacher' or 'gaussian', got {probes!r}")
    return probes


# --- Hutchinson: trace and diagonal with standard errors ------------------------------------------
@dataclasses.dataclass(frozen=True)
class TraceEstimate:
    """A Hutchinson estimate of ``tr A``.

    Attributes
    ----------
    value, se : float
        The mean of ``zᵀAz`` over the probes and its standard error (sample standard deviation
        over ``√n_probes``).
    n_probes : int
    samples : ndarray (n_probes,)
        ``zᵀAz`` for each probe.
    blocks : dict
        Name -> :class:`TraceEstimate` of the diagonal block ``tr A_bb``, from the same probes:
        ``z_bᵀ(Az)_b``. The block samples sum to the total sample by sample, so the block values
        sum to ``value`` to round-off.
    """

    value: float
    se: float
    n_probes: int
    samples: np.ndarray
    blocks: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DiagEstimate:
    """A Hutchinson estimate of ``diag A``: ``value`` and ``se`` of shape ``(dim,)`` (the mean
    of ``z ⊙ Az`` over ``n_probes`` probes and its standard error)."""

    value: np.ndarray
    se: np.ndarray
    n_probes: int


def _hutchinson(op, n_probes, gen, probes):
    """``z ⊙ Az`` summed (and squared) over the probes, and ``z_bᵀ(Az)_b`` per probe and block."""
    names = list(op.blocks)
    total, total_sq = np.zeros(op.dim), np.zeros(op.dim)
    block_samples = np.empty((n_probes, len(names)))
    for k in range(n_probes):
        z = _probe(gen, op.dim, probes)
        zaz = z * op.matvec(z)
        total += zaz
        total_sq += zaz * zaz
        block_samples[k] = [zaz[op.blocks[n]].sum() for n in names]
    return names, total, total_sq, block_samples


def _trace_estimate(samples, blocks=None):
    n = samples.size
    return TraceEstimate(float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(n)), n, samples,
                         blocks or {})


def hessian_trace(model, theta=None, *, n_probes, rng=None, kind="hessian", batch=None, block=None,
                  probes="rademacher"):
    """Hutchinson's estimate of the trace of the Hessian (or of the Gauss-Newton matrix or the
    empirical Fisher, ``kind``), with its standard error and the per-block traces.

    ``tr A = E[zᵀAz]`` for probes with ``E[z zᵀ] = I``. Rademacher probes (``z_i = ±1``) give the
    smallest variance, ``Var zᵀAz = 2(‖A‖_F² − Σ_i A_ii²)``; Gaussian probes give
    ``2‖A‖_F²`` (:func:`hutchinson_variance`). Each probe costs one product.

    Parameters
    ----------
    model : landscape_sde.Model or CurvatureOperator
    theta : array_like (dim,)
        Where (ignored when ``model`` is already an operator).
    n_probes : int
        ``>= 2`` (the standard error needs two).
    rng : None, int, SeedSequence or Generator
        Seed of the probes.
    kind, batch, block :
        Which operator: see :class:`CurvatureOperator`.
    probes : {"rademacher", "gaussian"}

    Returns
    -------
    TraceEstimate
        With ``blocks`` the per-layer (per-group) traces of :func:`parameter_blocks`.
    """
    n_probes = _v.integer("n_probes", n_probes, low=2)
    probes = _check_probes(probes)
    op = _operator(model, theta, kind, batch, block)
    names, _, _, block_samples = _hutchinson(op, n_probes, as_generator(rng), probes)
    blocks = {n: _trace_estimate(block_samples[:, j]) for j, n in enumerate(names)}
    return _trace_estimate(block_samples.sum(axis=1), blocks)


def hessian_diag(model, theta=None, *, n_probes, rng=None, kind="hessian", batch=None, block=None,
                 probes="rademacher"):
    """Hutchinson's estimate of the diagonal ``A_ii = E[z_i (Az)_i]``, with standard errors.

    With Rademacher probes ``Var z_i(Az)_i = Σ_{j≠i} A_ij²`` (exact when ``A`` is diagonal);
    see :func:`hutchinson_variance`. Arguments as :func:`hessian_trace`.

    Returns
    -------
    DiagEstimate
    """
    n_probes = _v.integer("n_probes", n_probes, low=2)
    probes = _check_probes(probes)
    op = _operator(model, theta, kind, batch, block)
    _, total, total_sq, _ = _hutchinson(op, n_probes, as_generator(rng), probes)
    mean = total / n_probes
    var = np.clip(total_sq - n_probes * mean * mean, 0.0, None) / (n_probes - 1)
    return DiagEstimate(mean, np.sqrt(var / n_probes), n_probes)


def hutchinson_variance(A, probes="rademacher"):
    """Closed-form single-probe variances of Hutchinson's estimators for a symmetric ``A``.

    Returns ``(Var zᵀAz, Var z_i(Az)_i for each i)``:

    - Rademacher: ``2(‖A‖_F² − Σ_i A_ii²)`` and ``Σ_{j≠i} A_ij²``;
    - Gaussian: ``2‖A‖_F²`` and ``2A_ii² + Σ_{j≠i} A_ij²``.
    """
    probes = _check_probes(probes)
    A = _v.finite_array("A", A, ndim=2)
    d2 = np.diag(A) ** 2
    off = np.sum(A * A, axis=1) - d2
    if probes == "rademacher":
        return 2.0 * float(np.sum(off)), off
    return 2.0 * float(np.sum(A * A)), off + 2.0 * d2


# --- stochastic Lanczos quadrature ---------------------------------------------------------------
def _lanczos(matvec, q, m, deflate=None):
    """``m`` steps of Lanczos from ``q`` with full reorthogonalisation (classical Gram-Schmidt
    against the previous vectors and the deflated directions after the three-term recurrence,
    repeated when it removed most of the vector: "twice is enough", Daniel-Gragg-Kaufman-
    Stewart); returns the Ritz values and the squared first components of the Ritz vectors
    (the Gauss quadrature weights of ``q``'s spectral measure), fewer than ``m`` if the Krylov
    space is exhausted."""
    dim = q.size
    Q = np.empty((m, dim))
    alpha, beta = np.zeros(m), np.zeros(m)
    q = q / np.linalg.norm(q)
    k = m
    for j in range(m):
        Q[j] = q
        w = matvec(q)
        alpha[j] = q @ w
        w -= alpha[j] * q
        if j > 0:
            w -= beta[j - 1] * Q[j - 1]
        if j + 1 == m:
            break
        for _ in range(2):
            before = np.linalg.norm(w)
            w -= (Q[:j + 1] @ w) @ Q[:j + 1]
            if deflate is not None:
                w -= deflate @ (w @ deflate)
            beta[j] = np.linalg.norm(w)
            if beta[j] > 0.7 * before:
                break
        if beta[j] <= 1e-12 * max(np.abs(alpha[:j + 1]).max(), beta[:j].max(initial=0.0), 1e-300):
            k = j + 1
            break
        q = w / beta[j]
    nodes, S = scipy.linalg.eigh_tridiagonal(alpha[:k], beta[:k - 1])
    return nodes, S[0] ** 2


def _gaussian_kernel(grid, centres, width):
    return np.exp(-0.5 * ((grid[:, None] - centres[None, :]) / width) ** 2) / (width * np.sqrt(2 * np.pi))


@dataclasses.dataclass(frozen=True)
class SpectralDensity:
    """The eigenvalue distribution of a curvature matrix by stochastic Lanczos quadrature.

    The spectral measure ``μ = (1/dim) Σ_i δ(λ_i)`` is split into ``k`` top outliers, computed
    as eigenvalues (weight ``1/dim`` each), and the bulk: the measure of the operator deflated
    of their eigenvectors, estimated probe by probe. Probe ``p`` (a Rademacher vector projected
    off the outliers and normalised) gives the ``m``-point Gauss quadrature of its own spectral
    measure ``Σ_i (q_p·u_i)² δ(λ_i)``: nodes (Ritz values) and weights summing to 1, exact for
    polynomials of degree ``2m − 1``, whose mean over probes is the bulk measure.

    Attributes
    ----------
    nodes, weights : ndarray (n_probes, n_lanczos)
        Per probe, the quadrature of the bulk. A probe whose Krylov space ends after
        ``j < n_lanczos`` steps (an operator of low rank, or ``dim`` reached) has its last
        ``n_lanczos − j`` weights zero (nodes repeated).
    outliers : ndarray (k,)
        The top eigenvalues separated from the bulk, descending.
    dim : int
    n_matvec : int
        Matrix-vector products used (outliers included).
    kind : str
    """

    nodes: np.ndarray
    weights: np.ndarray
    outliers: np.ndarray
    dim: int
    n_matvec: int
    kind: str = "hessian"

    @property
    def bulk_fraction(self):
        """``1 − k/dim``: the weight of the bulk in the full spectral measure."""
        return 1.0 - self.outliers.size / self.dim

    def density(self, grid, width, *, outliers=True):
        """The spectral density smoothed with a Gaussian of standard deviation ``width``.

        Returns ``(mean, se)`` on ``grid``: the mean over probes and the probe-to-probe standard
        error (the outliers are exact and add no spread). The bulk integrates to
        :attr:`bulk_fraction`, each outlier to ``1/dim`` (``outliers=False`` leaves them out).
        """
        grid = _v.finite_array("grid", grid, ndim=1)
        width = _v.positive("width", width)
        per_probe = np.stack([_gaussian_kernel(grid, n, width) @ w
                              for n, w in zip(self.nodes, self.weights)]) * self.bulk_fraction
        mean = per_probe.mean(axis=0)
        se = per_probe.std(axis=0, ddof=1) / np.sqrt(per_probe.shape[0])
        if outliers and self.outliers.size:
            mean = mean + _gaussian_kernel(grid, self.outliers, width).sum(axis=1) / self.dim
        return mean, se

    def cdf(self, x):
        """The cumulative distribution of the estimated spectral measure (outliers included):
        the probes' quadrature measures pooled with equal weight."""
        x = np.asarray(x, dtype=np.float64)
        nodes = np.concatenate([self.nodes.ravel(), self.outliers])
        w = np.concatenate([self.weights.ravel() * self.bulk_fraction / self.nodes.shape[0],
                            np.full(self.outliers.size, 1.0 / self.dim)])
        order = np.argsort(nodes)
        cum = np.concatenate([[0.0], np.cumsum(w[order])])
        return cum[np.searchsorted(nodes[order], x, side="right")]

    def trace(self):
        """``tr A ≈ dim · ∫λ dμ`` with the probe-to-probe standard error: ``(value, se)``.
        Without outliers this is Hutchinson's estimate with the same (normalised) probes."""
        per = self.dim * self.bulk_fraction * np.sum(self.nodes * self.weights, axis=1)
        return (float(per.mean() + self.outliers.sum()),
                float(per.std(ddof=1) / np.sqrt(per.size)))


def _auto_outliers(values):
    """How many of the top eigenvalues (descending) stand apart from the rest: ``k`` at the
    widest gap ``λ_k − λ_{k+1}`` among ``k <= m/2`` if that gap exceeds the spread
    ``λ_{k+1} − λ_m`` of the remaining ones (at least half of the ``m`` are left to judge by),
    else 0."""
    gaps = values[:-1] - values[1:]
    best = 0
    for k in range(1, values.size // 2 + 1):
        if gaps[k - 1] > values[k] - values[-1] and (best == 0 or gaps[k - 1] > gaps[best - 1]):
            best = k
    return best


def spectral_density(model, theta=None, *, n_probes, n_lanczos, rng=None, kind="hessian",
                     batch=None, block=None, n_outliers=0, max_outliers=16, tol=1e-8):
    """Spectral density of the Hessian (or Gauss-Newton or empirical Fisher matrix) by
    stochastic Lanczos quadrature, with the top outliers separated from the bulk.

    Parameters
    ----------
    model : landscape_sde.Model or CurvatureOperator
    theta : array_like (dim,)
        Where (ignored when ``model`` is already an operator).
    n_probes : int
        Independent probes, ``>= 2`` (their spread is the error bar).
    n_lanczos : int
        Lanczos steps per probe, ``1 <= n_lanczos <= dim``. Full reorthogonalisation: memory
        ``n_lanczos × dim`` floats.
    rng : None, int, SeedSequence or Generator
        Seed of the probes (and of the outlier solver's start vector).
    kind, batch, block :
        Which operator (see :class:`CurvatureOperator`): mini-batch spectra with ``batch``.
    n_outliers : int or "auto"
        How many top eigenvalues to compute exactly and deflate. ``"auto"``: compute the top
        ``max_outliers`` (at most ``dim − 1``) and keep those before the widest gap in the top
        half, if that gap is wider than the spread of the eigenvalues after it (the bulk edge
        is dense; a separated outlier is not).
    max_outliers : int
        Eigenvalues examined by ``"auto"``.
    tol : float
        Relative accuracy of the outlier eigenvalues (``eigsh``).

    Returns
    -------
    SpectralDensity
    """
    n_probes = _v.integer("n_probes", n_probes, low=2)
    op = _operator(model, theta, kind, batch, block)
    n_lanczos = _v.integer("n_lanczos", n_lanczos, low=1, high=op.dim)
    if n_outliers != "auto":
        n_outliers = _v.integer("n_outliers", n_outliers, low=0, high=max(0, op.dim - 2))
    max_outliers = _v.integer("max_outliers", max_outliers, low=3)
    gen = as_generator(rng)
    V, top = None, np.zeros(0)
    if n_outliers == "auto" or n_outliers > 0:
        k = min(max_outliers, op.dim - 1) if n_outliers == "auto" else n_outliers
        top, V = op.top_eigenpairs(k, tol=tol, rng=gen.integers(2**63))
        if n_outliers == "auto":
            n = _auto_outliers(top)
            top, V = top[:n], V[:, :n]
    if V is not None and V.shape[1] == 0:
        V = None

    def deflated(v):
        if V is None:
            return op.matvec(v)
        v = v - V @ (V.T @ v)
        w = op.matvec(v)
        return w - V @ (V.T @ w)

    nodes = np.empty((n_probes, n_lanczos))
    weights = np.zeros((n_probes, n_lanczos))
    for p in range(n_probes):
        z = _probe(gen, op.dim, "rademacher")
        if V is not None:
            z -= V @ (V.T @ z)
        x, w = _lanczos(deflated, z, n_lanczos, V)
        nodes[p, :x.size], nodes[p, x.size:] = x, x[-1]
        weights[p, :w.size] = w / w.sum()
    return SpectralDensity(nodes, weights, top, op.dim, op.n_matvec, op.kind)


def marchenko_pastur(ratio, scale=1.0):
    """The Marchenko-Pastur law of ``XᵀX/N`` for ``N × d`` i.i.d. entries of variance ``scale``
    as ``d, N → ∞`` with ``d/N → ratio``: the Hessian of least squares with Gaussian inputs.

    Support ``scale·[(1 − √r)², (1 + √r)²]``, density
    ``√((λ₊ − λ)(λ − λ₋)) / (2π r scale λ)``, and for ``r > 1`` an atom of mass ``1 − 1/r`` at 0.

    Returns
    -------
    (density, cdf) : callables of ``λ``
    """
    r = _v.positive("ratio", ratio)
    s = _v.positive("scale", scale)
    lo, hi = s * (1 - np.sqrt(r)) ** 2, s * (1 + np.sqrt(r)) ** 2
    atom = max(0.0, 1.0 - 1.0 / r)

    def density(lam):
        lam = np.asarray(lam, dtype=np.float64)
        inside = (lam > lo) & (lam < hi)
        safe = np.where(inside, lam, 0.5 * (lo + hi))
        return np.where(inside, np.sqrt((hi - safe) * (safe - lo)) / (2 * np.pi * r * s * safe), 0.0)

    # λ = c − ρ cos φ on [0, π] makes the integrand smooth; cumulative trapezoid on a fine grid
    phi = np.linspace(0.0, np.pi, 20001)
    c, rho = 0.5 * (lo + hi), 0.5 * (hi - lo)
    lam_phi = c - rho * np.cos(phi)
    integrand = (rho * np.sin(phi)) ** 2 / (2 * np.pi * r * s * lam_phi)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(phi))])
    cum *= (1.0 - atom) / cum[-1]

    def cdf(lam):
        lam = np.asarray(lam, dtype=np.float64)
        return np.where(lam >= 0, atom, 0.0) + np.interp(lam, lam_phi, cum, left=0.0, right=1.0 - atom)

    return density, cdf


def wasserstein_1(cdf_a, cdf_b, lo, hi, n=20001):
    """``W₁ = ∫|F_a − F_b| dλ`` over ``[lo, hi]`` (which must hold both supports), on ``n``
    points (trapezoid rule; a step CDF is resolved to ``(hi − lo)/n``)."""
    x = np.linspace(lo, hi, n)
    return float(np.trapezoid(np.abs(cdf_a(x) - cdf_b(x)), x))
