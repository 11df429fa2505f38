"""Numba code that is not tied to one model: the project's jit wrapper, random streams,
the trajectory driver template and the code generator that binds it to a model."""
