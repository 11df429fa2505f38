"""landscape-sde: compiled ensembles of GD, SGD and Langevin dynamics on toy landscapes.

>>> import landscape_sde as lsde
>>> ens = lsde.simulate(model, lsde.SGD(lr=0.1, batch_size=4), theta0, n_steps=1000,
...                     n_replicas=10_000, rng=0)                       # doctest: +SKIP
"""
__version__ = "0.1.0"

from . import fields, fokker_planck, hessian, noise, rng, symbolic
from .ensemble import Ensemble
from .model import KernelSpec, Model, Potential
from .schemes import GD, NSGD, SGD, SME, AnisotropicLangevin, Langevin, LeimkuhlerMatthews, Scheme
from .simulate import simulate
from .streaming import Streaming
from .sweep import sweep

__all__ = ["simulate", "Streaming", "sweep", "Ensemble", "Model", "Potential", "KernelSpec", "Scheme", "GD", "SGD",
           "NSGD", "SME", "Langevin", "LeimkuhlerMatthews", "AnisotropicLangevin", "fields",
           "fokker_planck", "hessian", "noise", "rng", "symbolic", "__version__"]
