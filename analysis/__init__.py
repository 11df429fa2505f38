"""Measurements and theory on top of landscape_sde simulations."""
