"""Concrete landscapes for landscape_sde, one module per family."""
from .potentials import DoubleWell, PolynomialPotential
from .quadratic import LinearRegression, Quadratic

__all__ = ["Quadratic", "LinearRegression", "DoubleWell", "PolynomialPotential"]
