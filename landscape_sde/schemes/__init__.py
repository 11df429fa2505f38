"""Integrators: one file per method, holding its class and its compiled update (see
:mod:`.base` for the contract)."""
from .adam import Adam
from .base import Method, Scheme
from .baoab import BAOAB
from .gd import GD
from .gradient_flow import GradientFlow
from .label_noise import LabelNoiseSGD
from .langevin import AnisotropicLangevin, Langevin, LeimkuhlerMatthews
from .nsgd import NSGD
from .rmsprop import RMSProp
from .sgd import SGD
from .sme import SME
from .underdamped_euler import UnderdampedEuler

__all__ = ["Scheme", "Method", "GD", "SGD", "NSGD", "Langevin", "LeimkuhlerMatthews",
           "AnisotropicLangevin", "SME", "BAOAB", "UnderdampedEuler", "GradientFlow", "Adam", "RMSProp",
           "LabelNoiseSGD"]
