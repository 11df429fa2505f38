"""The scheme contract.

A scheme is a small immutable object holding its parameters, validated on construction. It
declares

- ``order``: the orders of accuracy as an integrator of its continuous-time limit, as a dict
  (``"weak"``: error of expectations on a finite horizon; ``"stationary"``: bias of stationary
  averages), with the limit named in the class docstring;
- ``noise``: the noise it injects (``"none"``, ``"minibatch"``, ``"isotropic"``, ``"sme"``);
- ``step``: the time step in SDE time units (``t = k · step``).

For implementers: :meth:`Scheme.config` must (1) check the scheme against the model (e.g. the
batch size against ``model.n_samples``), raising ``ValueError`` naming the argument, and
(2) return the driver codes ``(structure, iparams, fparams)`` of
:mod:`landscape_sde._kernels.trajectory`: ``structure = (grad_kind, noise_kind, uses_momentum, projects)`` selects the
compiled loop (with ``uses_momentum``), the two arrays are its runtime parameters.
"""
import abc
import dataclasses

import numpy as np

from .. import _validation as _v
from .._kernels import trajectory as _t


@dataclasses.dataclass(frozen=True)
class Scheme(abc.ABC):
    order = {}
    noise = "none"

    @property
    @abc.abstractmethod
    def step(self):
        """Time step per iteration in SDE time (``lr`` or ``dt``)."""

    @abc.abstractmethod
    def config(self, model):
        """Driver codes ``((grad_kind, noise_kind, uses_momentum, projects), iparams int64[2],
        fparams float64[4])``."""

    @property
    def name(self):
        return type(self).__name__

    def params(self):
        """Parameters as a JSON-serialisable dict (stored in ``Ensemble.meta``)."""
        return dataclasses.asdict(self)


def codes(grad=_t.GRAD_FULL, batch_size=0, sampling=_t.SAMPLE_REPLACE, noise=_t.NOISE_NONE,
          h=0.0, mu=0.0, sigma=0.0, project=None):
    """Pack driver codes (see :mod:`landscape_sde._kernels.trajectory`); ``project`` is the
    NSGD factor ``1 − γ`` (``None``: no projection compiled in)."""
    return ((grad, noise, mu != 0.0, project is not None),
            np.array([batch_size, sampling], dtype=np.int64),
            np.array([h, mu, sigma, 0.0 if project is None else project], dtype=np.float64))


def check_batch_size(batch_size, model):
    if model.n_samples >= 2**32:  # the compiled bounded-integer draw works below 2^32
        raise ValueError(f"model: n_samples must be < 2^32 for mini-batch sampling, got "
                         f"{model.n_samples}")
    if batch_size > model.n_samples:
        raise ValueError(f"batch_size: must be <= the model's n_samples = {model.n_samples}, "
                         f"got {batch_size}")


def check_lr_momentum(scheme):
    """Validate (and normalise) the ``lr`` and heavy-ball ``momentum`` fields of a scheme."""
    object.__setattr__(scheme, "lr", _v.positive("lr", scheme.lr))
    object.__setattr__(scheme, "momentum", _v.real("momentum", scheme.momentum, low=0.0,
                                                    high=1.0, high_open=True))
