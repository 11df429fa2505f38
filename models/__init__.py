"""Concrete landscapes for landscape_sde, one module per family."""
from .deep_linear import DeepLinearNetwork
from .diagonal_linear import DiagonalLinearNetwork
from .potentials import DoubleWell, PolynomialPotential
from .product_network import ProductNetwork, ScalarProductNetwork
from .quadratic import LinearRegression, Quadratic
from .tanh_network import TanhNetwork
from .valley import FiniteSumValley, Valley

__all__ = ["Quadratic", "LinearRegression", "DoubleWell", "PolynomialPotential", "Valley",
           "FiniteSumValley", "ProductNetwork", "ScalarProductNetwork", "DeepLinearNetwork",
           "TanhNetwork", "DiagonalLinearNetwork"]
