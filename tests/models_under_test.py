"""One instance of every model, shared by the kernel and scheme tests."""
import numpy as np

from models import DoubleWell, LinearRegression, PolynomialPotential, Quadratic


def all_models():
    h = np.array([[1.5, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 0.5]])
    c = np.array([[1.0, 0.2, 0.1], [0.2, 0.5, 0.0], [0.1, 0.0, 0.3]])
    return {
        "quadratic": Quadratic(h, c, n_samples=7, center=[0.1, -0.2, 0.3]),
        "quadratic-noiseless": Quadratic(h),
        "linreg": LinearRegression.teacher_student(20, 3, noise=0.3, rng=1),
        "double-well-1d": DoubleWell(dim=1, barrier=0.7),
        "double-well-3d": DoubleWell(dim=3, barrier=1.0, stiffness=2.5),
        "polynomial-1d": PolynomialPotential([0.0, 0.3, -1.0, 0.1, 0.5]),
        "polynomial-2d": PolynomialPotential([[0.0, 0.1, 1.0], [0.2, 0.3, 0.0], [-1.0, 0.0, 0.0],
                                              [0.0, 0.0, 0.0], [0.5, 0.0, 0.0]]),
    }
