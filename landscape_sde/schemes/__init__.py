"""Integrators: one file per method (see :mod:`.base` for the contract)."""
from .base import Scheme
from .gd import GD
from .langevin import AnisotropicLangevin, Langevin, LeimkuhlerMatthews
from .nsgd import NSGD
from .sgd import SGD
from .sme import SME

__all__ = ["Scheme", "GD", "SGD", "Langevin", "LeimkuhlerMatthews", "AnisotropicLangevin", "SME", "NSGD"]
