"""Normalise ``rng=`` arguments and derive per-replica random streams.

Every random function in the project takes ``rng=``, accepting what Scientific Python SPEC 7
proposes: ``None`` (fresh OS entropy), an ``int`` seed, a :class:`numpy.random.SeedSequence`, or
a :class:`numpy.random.Generator` (from which fresh entropy is drawn, advancing it).

Compiled loops never see these objects: they receive a 128-bit *root key* generated from the
seed sequence, and replica ``k`` seeds its own xoshiro256** stream from ``(key, k)``
(see :mod:`landscape_sde._kernels.rng`). Replica ``k`` under seed ``s`` therefore follows the
same path whether 1 or 10,000 replicas run and whatever the thread count.
"""
import numpy as np

from . import checks as _v
from ._kernels import rng as _krng

__all__ = ["as_seed_sequence", "as_generator", "root_key", "standard_normals", "uniforms"]


def as_seed_sequence(rng=None):
    """Return a :class:`numpy.random.SeedSequence` for any accepted ``rng=`` value.

    Parameters
    ----------
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        ``None`` draws fresh entropy from the OS; an ``int`` (>= 0) is the seed; a
        ``SeedSequence`` is used as is; a ``Generator`` is asked for 128 bits of entropy
        (so it advances, as SPEC 7 expects).

    Returns
    -------
    numpy.random.SeedSequence
    """
    if rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng is not None and rng < 0:
            raise ValueError(f"rng: seed must be a non-negative integer, got {rng}")
        return np.random.SeedSequence(None if rng is None else int(rng))
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**63, size=2, dtype=np.uint64).tolist())
    raise TypeError("rng: expected None, a non-negative int, a numpy SeedSequence or a numpy "
                    f"Generator, got {type(rng).__name__} {rng!r}")


def as_generator(rng=None):
    """A :class:`numpy.random.Generator` for any accepted ``rng=`` value (a Generator is used
    as is, so it advances).

    Parameters
    ----------
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        As for :func:`as_seed_sequence`.

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(as_seed_sequence(rng))


def root_key(seed_sequence):
    """The 128-bit key (``uint64[2]``) that compiled loops derive replica streams from.

    Parameters
    ----------
    seed_sequence : numpy.random.SeedSequence

    Returns
    -------
    ndarray of uint64, shape (2,)
    """
    return seed_sequence.generate_state(2, np.uint64)


def standard_normals(n_replicas, n, *, rng=None, first_replica=0):
    """The first ``n`` standard normals of each replica stream, shape ``(n_replicas, n)``.

    These are exactly the draws the compiled integrators make, exposed for testing and for
    users who want the same streams outside :func:`landscape_sde.simulate`.

    Parameters
    ----------
    n_replicas : int
        Number of replica streams (``>= 0``).
    n : int
        Draws per replica (``>= 0``).
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        As for :func:`as_seed_sequence`.
    first_replica : int
        Index of the first replica (``>= 0``): replica ``j`` of the result is stream
        ``first_replica + j``, the same whatever ``n_replicas``.

    Returns
    -------
    ndarray, shape (n_replicas, n)
    """
    out = np.empty(_shape(n_replicas, n))
    _krng.fill_normals(root_key(as_seed_sequence(rng)), _first(first_replica), out)
    return out


def uniforms(n_replicas, n, *, rng=None, first_replica=0):
    """The first ``n`` uniform doubles in [0, 1) of each replica stream, ``(n_replicas, n)``.

    Parameters
    ----------
    n_replicas : int
        Number of replica streams (``>= 0``).
    n : int
        Draws per replica (``>= 0``).
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        As for :func:`as_seed_sequence`.
    first_replica : int
        Index of the first replica (``>= 0``): replica ``j`` of the result is stream
        ``first_replica + j``, the same whatever ``n_replicas``.

    Returns
    -------
    ndarray, shape (n_replicas, n)
    """
    out = np.empty(_shape(n_replicas, n))
    _krng.fill_uniforms(root_key(as_seed_sequence(rng)), _first(first_replica), out)
    return out


def _shape(n_replicas, n):
    return (_v.integer("n_replicas", n_replicas, low=0), _v.integer("n", n, low=0))


def _first(first_replica):
    return _v.integer("first_replica", first_replica, low=0)
