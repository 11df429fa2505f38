"""The named data the compiled trajectory loop carries (:mod:`.trajectory`).

Every record is a ``typing.NamedTuple``: numba passes them as typed structs (no boxing, no
slot conventions), and because the classes live in an importable module numba's disk cache
keys on them like on any other argument type. Scalars in these records are runtime values:
changing them never recompiles.

Also the codes of the gradient oracles and batch samplers, which a scheme's
:class:`~landscape_sde.schemes.Method` names by string and the code generator folds into
compile-time constants.
"""
from typing import NamedTuple

import numpy as np

# gradient oracles: what the loop evaluates before each stage of a scheme's update
GRAD_FULL, GRAD_BATCH, GRAD_SAMPLES, GRAD_OUTPUTS = 0, 1, 2, 3
GRADIENTS = {"full": GRAD_FULL, "batch": GRAD_BATCH, "samples": GRAD_SAMPLES,
             "outputs": GRAD_OUTPUTS}
# mini-batch samplers
SAMPLE_REPLACE, SAMPLE_WITHOUT, SAMPLE_SHUFFLE = 0, 1, 2
SAMPLERS = {"replace": SAMPLE_REPLACE, "without": SAMPLE_WITHOUT, "shuffle": SAMPLE_SHUFFLE}


class Loop(NamedTuple):
    """What every scheme shares: the root key of the replica streams (``uint64[2]``), the
    model's sample count, the mini-batch size and sampler code, and the divergence bound."""
    key: np.ndarray
    n_samples: int
    batch_size: int
    sampling: int
    bound: float


class Segment(NamedTuple):
    """One compiled call: replicas ``first..last-1`` from step ``k0`` to ``save_at[-1]``,
    saving at the absolute steps ``save_at``; ``fresh`` starts them from their seeds."""
    save_at: np.ndarray
    k0: int
    fresh: bool
    first: int
    last: int


class Carry(NamedTuple):
    """The loop's own resumable per-replica state: generator words ``(n, 4)``, the batch
    permutation ``(n, N or 0)`` and the epoch position ``(n,)``."""
    rng: np.ndarray
    perm: np.ndarray
    pos: np.ndarray

    @classmethod
    def fresh(cls, n_replicas, n_perm):
        return cls(np.zeros((n_replicas, 4), np.uint64), np.zeros((n_replicas, n_perm), np.int64),
                   np.zeros(n_replicas, np.int64))


class Out(NamedTuple):
    """Outputs: ``theta (n_rows, n, dim)``, ``loss (n_rows, n)``, ``diverged_at (n,)``."""
    theta: np.ndarray
    loss: np.ndarray
    diverged_at: np.ndarray


class Oracle(NamedTuple):
    """What a scheme's update reads at each stage: ``g`` the gradient at the stage's point
    (full, mini-batch, or the mean of ``gs``), ``gs`` every per-sample gradient (``samples``
    oracle) or the output gradients ``∇f_i`` of the batch (``outputs`` oracle: ``g`` is then
    the batch gradient; a full batch when ``batch_size = N``), else ``(0, dim)``, ``dd`` the model's diagonal diffusion at the point (if asked,
    else empty), and ``x``, a work vector of length ``dim`` the scheme owns during a step:
    for multi-stage schemes the point of the next stage's gradient."""
    g: np.ndarray
    gs: np.ndarray
    dd: np.ndarray
    x: np.ndarray


# kinds of first-passage target set (:mod:`.passage`)
SET_NONE, SET_ABOVE, SET_BELOW, SET_BALL, SET_PREDICATE = 0, 1, 2, 3, 4


class Target(NamedTuple):
    """A first-passage target set, tested by :func:`.passage.arrived` at every step.

    ``kind`` a ``SET_*`` code: ``θ[coord] > level`` (``SET_ABOVE``), ``θ[coord] < level``
    (``SET_BELOW``), ``‖θ − center‖² < radius2`` (``SET_BALL``) or the compiled predicate bound
    into the driver (``SET_PREDICATE``); ``center`` is ``(dim,)`` for a ball, else ``(0,)``.
    ``stop``: a replica stops at its arrival (its later saves hold the arrival state). Kept
    apart from the statistics so that any driver can carry it."""
    kind: int
    stop: bool
    coord: int
    level: float
    center: np.ndarray
    radius2: float

    @classmethod
    def none(cls):
        return cls(SET_NONE, False, 0, 0.0, np.zeros(0), 0.0)


class Stream(NamedTuple):
    """Streaming statistics and first passages (see :mod:`landscape_sde.streaming`).

    ``index[m]``: global save index of segment save ``m`` (−1: not a save); ``on``: streaming
    (else full trajectories are stored); replicas ``r`` accumulate into block ``r // block``;
    histogram of ``L`` (``hcol = -1``) or ``θ[hcol]`` (``-2``: none) on ``n_bins`` bins over
    ``[lo, hi)``; first passages below ``loss_below`` / above ``abs_above`` when ``fp_loss`` /
    ``fp_level``, and into the set ``target`` (a :class:`Target`). Accumulators: ``cnt (s, b)``,
    ``mean``/``m2 (s, b, c)``, ``hist (s, b, bins+2)``, ``passage (n, 3)`` (loss, level, target).
    """
    index: np.ndarray
    on: bool
    block: int
    hcol: int
    n_bins: int
    lo: float
    hi: float
    fp_loss: bool
    fp_level: bool
    loss_below: float
    abs_above: float
    cols: np.ndarray
    cnt: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    hist: np.ndarray
    passage: np.ndarray
    target: Target
