"""Concrete landscapes for landscape_sde, one module per family."""
from .potentials import DoubleWell, PolynomialPotential
from .product_network import ProductNetwork, ScalarProductNetwork
from .quadratic import LinearRegression, Quadratic
from .valley import FiniteSumValley, Valley

__all__ = ["Quadratic", "LinearRegression", "DoubleWell", "PolynomialPotential", "Valley",
           "FiniteSumValley", "ProductNetwork", "ScalarProductNetwork"]
