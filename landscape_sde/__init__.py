"""landscape-sde: compiled ensembles of GD, SGD and Langevin dynamics on toy landscapes.

>>> import landscape_sde as lsde
>>> ens = lsde.simulate(model, lsde.SGD(lr=0.1, batch_size=4), theta0, n_steps=1000,
...                     n_replicas=10_000, rng=0)                       # doctest: +SKIP
"""
__version__ = "0.2.0"

from . import checks, fields, fokker_planck, hessian, kernels, noise, passage, rng
from .ensemble import Ensemble
from .kernels import jit
from .model import KernelSpec, Model, Potential, check_kernels
from .schemes import (BAOAB, GD, NSGD, SGD, SME, Adam, AnisotropicLangevin, GradientFlow,
                      LabelNoiseSGD, Langevin, LeimkuhlerMatthews, Method, RMSProp, Scheme, UnderdampedEuler)
from .simulation import simulate
from .streaming import Streaming
from .sweeps import sweep


def __getattr__(name):
    # SymPy is imported only when the symbolic tools are first used
    if name == "symbolic":
        import importlib
        return importlib.import_module(".symbolic", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["simulate", "Streaming", "sweep", "Ensemble", "Model", "Potential", "KernelSpec",
           "check_kernels", "Scheme", "Method", "GD", "SGD", "NSGD", "SME", "Langevin",
           "LeimkuhlerMatthews", "AnisotropicLangevin", "BAOAB", "UnderdampedEuler", "GradientFlow", "Adam", "RMSProp", "LabelNoiseSGD", "jit",
           "checks",
           "fields", "fokker_planck", "hessian", "kernels", "noise", "passage", "rng", "symbolic",
           "__version__"]
