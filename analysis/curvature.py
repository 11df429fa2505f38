"""Curvature of a loss: sharpness ``S = λ_max(∇²L)``, the top-k Hessian eigenpairs (from
:mod:`landscape_sde.hessian`: Lanczos on compiled HVPs, or dense), and the mini-batch
quantities of the edge of stochastic stability.
"""
import dataclasses

import numpy as np
import scipy.sparse.linalg as spla

from landscape_sde import checks as _v
from landscape_sde.hessian import Eigenpairs, _hvp_operator, hessian_eigenpairs
from landscape_sde.rng import as_seed_sequence

__all__ = ["Eigenpairs", "Estimate", "Directions", "sharpness", "hessian_eigenpairs",
           "step_sharpness", "preconditioned_sharpness", "minibatch_sharpness", "sharpest_directions", "TRACKED", "tracker"]


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
           "cos_batch", "step_loss_change", "preconditioned_sharpness")


def tracker(model, quantities, *, lr=None, batch_size=None, n_batches=20, tol=1e-6, rng=None):
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
    :class:`landscape_sde.Adam` or :class:`landscape_sde.RMSProp`. Batches come from one
    generator seeded by ``rng`` and advanced call after call, so a run with the same observer
    seed is reproducible.
    """
    quantities = tuple(quantities)
    unknown = [q for q in quantities if q not in TRACKED]
    if unknown or not quantities:
        raise ValueError(f"quantities: expected a non-empty subset of {TRACKED}, got {quantities!r}")
    batchy = {"minibs", "batch_sharpness", "gni", "cos_batch"} & set(quantities)
    if batchy:
        batch_size = _v.integer("batch_size", batch_size, low=1, high=model.n_samples)
    directional = {"cos_grad", "cos_batch", "step_loss_change"} & set(quantities)
    if directional:
        lr = _v.positive("lr", lr)
    n_batches = _v.integer("n_batches", n_batches, low=2)
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
        return [row[q] for q in quantities]

    def observer(thetas, P=None):
        rows = [one(t, None if P is None else P[i]) for i, t in enumerate(thetas)]
        return np.array(rows, dtype=np.float64).reshape(len(thetas), len(quantities))

    return observer
