"""The large-batch gap: test loss and sharpness of the minimum SGD ends in, against
the batch size, at fixed learning rate or at fixed noise scale; and Keskar's sharpness metric.

Keskar, Mudigere, Nocedal, Smelyanskiy & Tang (ICLR 2017), metric (their eq. 4, ``A = I``, full
space): with the box ``C_ε = {y : |y_i| ≤ ε (|θ_i| + 1)}``,

``φ(θ, ε) = 100 · (max_{y ∈ C_ε} L(θ + y) − L(θ)) / (1 + L(θ))``,

the maximum found by L-BFGS-B (box-constrained) on the compiled loss and gradient. At a
stationary point the gradient vanishes, so the search starts from a uniformly random point of
the box (``n_starts`` of them, the best kept); the maximiser finds a local maximum, a lower
bound of the true one (exact for convex ``L``, whose maximum over a box sits at a vertex that
L-BFGS-B reaches from a start in that vertex's orthant when ``H`` is diagonal).
"""
import dataclasses

import numpy as np
import scipy.optimize

from landscape_sde import checks as _v
from landscape_sde.rng import as_seed_sequence
from landscape_sde.schemes import SGD

from analysis.curvature import sharpness
from analysis.noise_scale import lr_for_noise_scale, noise_scale, run_schedule

__all__ = ["keskar_sharpness", "BatchSweep", "batch_size_sweep"]


def keskar_sharpness(model, theta, epsilon=1e-3, *, n_starts=1, rng=None, maxiter=200):
    """Keskar's ``φ(θ, ε)`` (percent; see the module docstring).

    Parameters
    ----------
    model : landscape_sde.Model
    theta : array_like (dim,)
    epsilon : float
        Relative box size ``ε > 0``.
    n_starts : int
        Random starts inside the box; the largest maximum is kept.
    rng : None, int, SeedSequence or Generator
    maxiter : int
        L-BFGS-B iterations per start.
    """
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    eps = _v.positive("epsilon", epsilon)
    n_starts = _v.integer("n_starts", n_starts, low=1)
    gen = np.random.default_rng(as_seed_sequence(rng))
    loss_k, grad_k = model.compiled("loss"), model.compiled("grad")
    g = np.empty(model.dim)

    def neg(y):
        x = theta + y
        grad_k(x, model.data, g)
        return -loss_k(x, model.data), -g

    radius = eps * (np.abs(theta) + 1.0)
    l0 = loss_k(theta, model.data)
    best = l0
    for _ in range(n_starts):
        y0 = gen.uniform(-radius, radius)
        res = scipy.optimize.minimize(neg, y0, jac=True, method="L-BFGS-B",
                                      bounds=list(zip(-radius, radius)),
                                      options={"maxiter": maxiter})
        best = max(best, -res.fun)
    return 100.0 * (best - l0) / (1.0 + l0)


@dataclasses.dataclass(frozen=True)
class BatchSweep:
    """Per batch size (rows) and replica (columns): final training and test loss, ``λ_max`` and
    Keskar's ``φ`` (NaN for diverged replicas); and per batch size the learning rate, noise
    scale and number of updates."""

    batch_sizes: np.ndarray
    lrs: np.ndarray
    noise_scales: np.ndarray
    n_updates: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    sharpness: np.ndarray
    keskar: np.ndarray


def batch_size_sweep(model, theta0, batch_sizes, *, n_epochs, lr=None, noise_scale_g=None,
                     n_replicas=8, epsilon=1e-3, rng=None):
    """Train with SGD for ``n_epochs`` at each batch size, at fixed ``lr`` or at fixed noise scale
    ``noise_scale_g`` (``η = g/(N/b − 1)``; exactly one of the two), and measure the final point.

    ``model`` needs ``test_loss(theta)`` (e.g. ``DeepLinearNetwork.teacher_student(...,
    n_test > 0)``). Each batch size draws from its own child of ``rng``.
    """
    if (lr is None) == (noise_scale_g is None):
        raise ValueError(f"lr, noise_scale_g: give exactly one, got lr={lr!r}, "
                         f"noise_scale_g={noise_scale_g!r}")
    n = model.n_samples
    batch_sizes = [_v.integer(f"batch_sizes[{k}]", b, low=1, high=n)
                   for k, b in enumerate(_v.sequence("batch_sizes", batch_sizes))]
    n_epochs = _v.integer("n_epochs", n_epochs, low=1)
    seeds = as_seed_sequence(rng).spawn(len(batch_sizes))
    rows = {k: [] for k in ("lrs", "g", "updates", "train", "test", "sharp", "keskar")}
    for b, seed in zip(batch_sizes, seeds):
        eta = lr if lr is not None else lr_for_noise_scale(noise_scale_g, b, n)
        run_seed, kes_seed = seed.spawn(2)
        s = run_schedule(model, [(SGD(eta, b), n_epochs)], theta0, n_replicas=n_replicas, rng=run_seed)
        final = s.theta[-1]
        rows["lrs"].append(eta)
        rows["g"].append(noise_scale(eta, b, n))
        rows["updates"].append(s.n_updates)
        rows["train"].append(np.where(s.diverged, np.nan, s.loss[-1]))
        # diverged replicas are NaN (the point is not a minimum)
        measure = lambda f: [np.nan if d else f(t, r) for t, d, r in  # noqa: E731
                             zip(final, s.diverged, kes_seed.spawn(n_replicas))]
        rows["test"].append(measure(lambda t, r: model.test_loss(t)))
        rows["sharp"].append(measure(lambda t, r: sharpness(model, t).values[0]))
        rows["keskar"].append(measure(lambda t, r: keskar_sharpness(model, t, epsilon, rng=r)))
    return BatchSweep(np.asarray(batch_sizes), np.array(rows["lrs"]), np.array(rows["g"]),
                      np.array(rows["updates"]), np.array(rows["train"]), np.array(rows["test"]),
                      np.array(rows["sharp"]), np.array(rows["keskar"]))
