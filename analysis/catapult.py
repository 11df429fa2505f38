"""The catapult phase of gradient descent (Lewkowycz, Bahri, Dyer, Sohl-Dickstein & Gur-Ari, 2020).

At large width the early dynamics of GD with learning rate ``η`` on the MSE loss depend on
``η λ₀``, ``λ₀`` the top eigenvalue of the neural tangent kernel at initialisation (here: of the
Gauss-Newton matrix ``(1/N) Σ_n J_nᵀ J_n``, which is the NTK's top eigenvalue divided by N):

- ``η λ₀ < 2``: *monotone* (lazy) phase, the loss decreases at every step;
- ``2 < η λ₀ < c_max``: *catapult* phase, the loss first grows, the curvature falls until
  ``η λ < 2``, then the loss converges, at a flatter point than the start;
- ``η λ₀ > c_max``: *divergent* phase.

For the two-layer linear ("uv") model ``f = vᵀu/√m`` on one sample the thresholds follow from
the exact GD map of ``(f, λ)`` (``analysis.derivations catapult_uv_thresholds``): ``2`` and
``c_max = 4``. For other networks the lower threshold is still 2 (the linearised dynamics),
and the upper one is measured (:func:`phase_sweep`).
"""
import numpy as np

import landscape_sde as lsde
from landscape_sde import checks as _v

__all__ = ["PHASES", "ntk_eigenvalue", "classify", "phase_sweep", "thresholds", "uv_model"]

PHASES = ("monotone", "catapult", "divergent")


def uv_model(width, y=0.0):
    """The uv model as a two-layer linear network ``f(x) = vᵀu x`` (``DeepLinearNetwork`` of
    widths ``[1, m, 1]``) on the single sample ``x = 1`` with target ``y``. GD on it with
    ``u, v ~ N(0, m^{-1/2})`` and learning rate ``η`` is GD on the NTK parameterisation
    ``f = vᵀu/√m`` (``u, v ~ N(0, 1)``) with learning rate ``η√m``: ``η λ`` is the same."""
    from models.deep_linear import DeepLinearNetwork
    width = _v.integer("width", width, low=1)
    return DeepLinearNetwork([1, width, 1], np.ones((1, 1)), np.full((1, 1), _v.real("y", y)))


def ntk_eigenvalue(model, theta):
    """``λ₀``: the top eigenvalue of the Gauss-Newton matrix at ``θ`` (the NTK's over N)."""
    from analysis.curvature import CurvatureOperator
    return float(CurvatureOperator(model, theta, "gauss_newton").top_eigenpairs(1)[0][0])


def classify(loss, diverged, rtol=1e-10, floor=1e-20):
    """The phase of one GD run from its loss at every step: ``divergent`` if it diverged or
    ends above its start, ``monotone`` if the loss never rose by more than ``rtol`` relative
    before reaching ``floor`` times its start (below that, round-off moves it both ways),
    ``catapult`` otherwise."""
    loss = _v.real_array("loss", loss)
    if loss.ndim != 1 or loss.size < 2:
        raise ValueError(f"loss: expected the loss at every step, a 1-D array of at least 2 "
                         f"values, got shape {loss.shape}")
    diverged = _v.boolean("diverged", diverged)
    rtol = _v.real("rtol", rtol, low=0.0)
    floor = _v.real("floor", floor, low=0.0)
    if diverged or not np.all(np.isfinite(loss)) or loss[-1] >= loss[0]:
        return "divergent"
    below = np.flatnonzero(loss < floor * loss[0])
    head = loss[:below[0] + 1] if below.size else loss
    if np.all(np.diff(head) <= rtol * head[:-1]):
        return "monotone"
    return "catapult"


def phase_sweep(model, theta0, ratios, *, n_steps):
    """GD from ``θ₀`` at ``η = r/λ₀`` for each ``r`` in ``ratios``: the phase, the peak and final
    loss, and the final ``η · sharpness``.

    Returns
    -------
    dict
        ``lam0``; arrays over ``ratios``: ``phase`` (index into :data:`PHASES`), ``peak_loss``
        (over the start's), ``final_loss``, ``final_eta_sharpness`` (NaN when divergent).
    """
    from analysis.curvature import sharpness
    ratios = _v.finite_array("ratios", ratios, ndim=1)
    if np.any(ratios <= 0):
        raise ValueError(f"ratios: expected positive values of η·λ₀, got {ratios.tolist()}")
    n_steps = _v.integer("n_steps", n_steps, low=1)
    theta0 = _v.finite_array("theta0", theta0, shape=(model.dim,))
    lam0 = ntk_eigenvalue(model, theta0)
    out = {k: np.full(ratios.size, np.nan) for k in ("peak_loss", "final_loss", "final_eta_sharpness")}
    out["phase"] = np.zeros(ratios.size, dtype=np.int64)
    for i, r in enumerate(ratios):
        lr = r / lam0
        ens = lsde.simulate(model, lsde.GD(lr), theta0, n_steps=n_steps, divergence_bound=1e6)
        loss = ens.loss[:, 0]
        phase = classify(loss, bool(ens.diverged[0]))
        out["phase"][i] = PHASES.index(phase)
        out["peak_loss"][i] = np.nanmax(loss) / loss[0]
        out["final_loss"][i] = loss[-1]
        if phase != "divergent":
            out["final_eta_sharpness"][i] = lr * sharpness(model, ens.theta[-1, 0]).sharpness
    return {"lam0": lam0, **out}


def thresholds(ratios, phase):
    """The measured thresholds: the smallest ratio in the catapult phase and the smallest in
    the divergent phase (NaN if none), from a sweep sorted by ratio."""
    ratios, phase = np.asarray(ratios), np.asarray(phase)
    first = lambda k: float(ratios[np.argmax(phase >= k)]) if np.any(phase >= k) else np.nan  # noqa: E731
    return first(1), first(2)
