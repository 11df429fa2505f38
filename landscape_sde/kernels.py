"""The toolkit for compiled code of models and schemes, for whoever writes one.

- :func:`jit`: the project's numba wrapper (``fastmath`` off, ``error_model="numpy"``, nogil,
  disk cache); every kernel and scheme update goes through it.
- :func:`normal`, :func:`uniform`, :func:`below`: draws from a replica's generator words
  ``(s0, s1, s2, s3)`` (xoshiro256**, ziggurat normals), returning the value and the new words,
  as a scheme's update threads them.
- :class:`Oracle`: what a scheme's update reads (gradient, per-sample gradients, diffusion,
  work vector); :class:`NoState`, :class:`NoParams`, :func:`no_init`: the empty defaults.
"""
from ._kernels.jit import jit
from ._kernels.layout import Oracle
from ._kernels.rng import below, normal, uniform
from .schemes.base import NoParams, NoState, no_init

__all__ = ["jit", "normal", "uniform", "below", "Oracle", "NoState", "NoParams", "no_init"]
