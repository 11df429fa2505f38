"""The SGD noise scale and schedules that keep it equal.

Noise scale (Smith & Le 2018; Smith, Kindermans, Ying & Le 2018): for ``b`` distinct indices per
step from ``N`` samples, ``Cov g_B = (N − b)/(b(N − 1)) C``, so the SME diffusion
``(η/2) Cov g_B`` is ``(g/2) C/(N − 1)`` with

``g = η (N/b − 1) / (1 − μ)  ≈  η N / (b (1 − μ))``  (``b ≪ N``).

The heavy-ball factor ``1/(1 − μ)`` is the one of Yaida's relation to leading order
(:mod:`analysis.fdr`): with momentum the effective step is ``η/(1 − μ)``. At equal ``g`` the
SDE limit is the same, so decaying ``η`` by ``α`` matches growing ``b`` by (about) ``α`` at equal
epochs, with fewer updates (``N/b`` per epoch).

:func:`run_schedule` chains :func:`landscape_sde.simulate` calls (``simulate`` keeps ``lr`` and
``batch_size`` fixed per call): stage ``k`` starts from each replica's final ``θ`` of stage
``k − 1`` with its own stream, the ``k``-th child of the root ``SeedSequence``.
"""
import dataclasses

import numpy as np

from landscape_sde import checks as _v
from landscape_sde.rng import as_seed_sequence
from landscape_sde.schemes import SGD
from landscape_sde import simulate

__all__ = ["noise_scale", "batch_size_for_noise_scale", "lr_for_noise_scale",
           "batch_growth_schedule", "lr_decay_schedule", "Schedule", "run_schedule"]


def _common(n_samples, momentum):
    return (_v.integer("n_samples", n_samples, low=2),
            _v.real("momentum", momentum, low=0.0, high=1.0, high_open=True))


def noise_scale(lr, batch_size, n_samples, momentum=0.0):
    """``g = η (N/b − 1) / (1 − μ)`` (same units as ``η``; 0 at full batch)."""
    n, mu = _common(n_samples, momentum)
    lr = _v.positive("lr", lr)
    b = _v.integer("batch_size", batch_size, low=1, high=n)
    return lr * (n / b - 1.0) / (1.0 - mu)


def batch_size_for_noise_scale(g, lr, n_samples, momentum=0.0, integer=True):
    """The ``b`` with ``noise_scale(lr, b, N, μ) = g``: ``N / (1 + g(1 − μ)/η)``, rounded to the
    nearest integer in ``[1, N]`` unless ``integer=False``."""
    n, mu = _common(n_samples, momentum)
    g, lr = _v.real("g", g, low=0.0), _v.positive("lr", lr)
    b = n / (1.0 + g * (1.0 - mu) / lr)
    return int(np.clip(np.rint(b), 1, n)) if integer else b


def lr_for_noise_scale(g, batch_size, n_samples, momentum=0.0):
    """The ``η`` with ``noise_scale(η, b, N, μ) = g``: ``g (1 − μ) / (N/b − 1)`` (``b < N``)."""
    n, mu = _common(n_samples, momentum)
    g = _v.positive("g", g)
    b = _v.integer("batch_size", batch_size, low=1, high=n - 1)
    return g * (1.0 - mu) / (n / b - 1.0)


def batch_growth_schedule(lrs, batch_size, n_samples, momentum=0.0):
    """Batch sizes that reproduce the noise scales of the learning-rate schedule ``lrs`` (at
    batch size ``batch_size``) with the learning rate fixed at ``lrs[0]``."""
    lrs = [_v.positive(f"lrs[{k}]", x) for k, x in enumerate(_v.sequence("lrs", lrs))]
    return [batch_size_for_noise_scale(noise_scale(x, batch_size, n_samples, momentum), lrs[0],
                                       n_samples, momentum) for x in lrs]


def lr_decay_schedule(batch_sizes, lr, n_samples, momentum=0.0):
    """Learning rates that reproduce the noise scales of ``batch_sizes`` (at learning rate
    ``lr``) with the batch size fixed at ``batch_sizes[0]``."""
    batch_sizes = _v.sequence("batch_sizes", batch_sizes)
    return [lr_for_noise_scale(noise_scale(lr, b, n_samples, momentum), batch_sizes[0],
                               n_samples, momentum) for b in batch_sizes]


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Result of :func:`run_schedule`, recorded at every epoch boundary (and at the start).

    ``epochs`` (float, ``updates · b / N`` summed over stages), ``updates`` (cumulative),
    ``theta`` ``(n_points, n_replicas, dim)``, ``loss`` ``(n_points, n_replicas)`` (training
    loss), ``noise_scales`` per stage, ``diverged`` per replica.
    """

    epochs: np.ndarray
    updates: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    noise_scales: list
    diverged: np.ndarray

    @property
    def n_updates(self):
        return int(self.updates[-1])


def run_schedule(model, stages, theta0, *, n_replicas=1, rng=None):
    """Run SGD stage by stage, each stage ``(scheme, n_epochs)`` an :class:`landscape_sde.SGD`
    with its own ``lr``/``batch_size`` for ``n_epochs`` epochs of ``round(N/b)`` updates.

    Stage ``k`` starts from the final ``θ`` of every replica (``theta0`` of shape
    ``(n_replicas, dim)``) and draws from the ``k``-th child stream of ``rng``. The heavy-ball
    velocity restarts at 0 at each stage (as when an optimiser is rebuilt).
    """
    if not stages:
        raise ValueError(f"stages: expected at least one (scheme, n_epochs) pair, got {stages!r}")
    n = model.n_samples
    for k, (scheme, n_epochs) in enumerate(stages):
        if not isinstance(scheme, SGD):
            raise TypeError(f"stages[{k}]: expected landscape_sde.SGD, got {type(scheme).__name__}")
        _v.integer(f"stages[{k}] n_epochs", n_epochs, low=1)
    seeds = as_seed_sequence(rng).spawn(len(stages))
    theta = np.ascontiguousarray(np.broadcast_to(_v.finite_array("theta0", theta0, ndim=(1, 2)),
                                                 (n_replicas, model.dim)))
    thetas, losses, updates, epochs, scales = [], [], [0], [0.0], []
    diverged = np.zeros(n_replicas, bool)
    for k, ((scheme, n_epochs), seed) in enumerate(zip(stages, seeds)):
        per_epoch = max(1, int(round(n / scheme.batch_size)))
        ens = simulate(model, scheme, theta, n_steps=per_epoch * n_epochs, n_replicas=n_replicas,
                       save_every=per_epoch, rng=seed)
        first = 0 if k == 0 else 1  # the stage's start is the previous stage's end
        # a replica that diverged in an earlier stage stays NaN (simulate restarts it at 0)
        thetas.append(np.where(diverged[None, :, None], np.nan, ens.theta[first:]))
        losses.append(np.where(diverged[None, :], np.nan, ens.loss[first:]))
        steps = ens.t[1:]
        updates += list(updates[-1] + steps)
        epochs += list(epochs[-1] + steps * scheme.batch_size / n)
        scales.append(noise_scale(scheme.lr, scheme.batch_size, n, scheme.momentum))
        diverged |= ens.diverged
        theta = np.ascontiguousarray(np.nan_to_num(ens.theta[-1]))
    return Schedule(np.array(epochs), np.array(updates, dtype=np.int64), np.concatenate(thetas),
                    np.concatenate(losses), scales, diverged)
