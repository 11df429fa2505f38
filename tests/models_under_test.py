"""One instance of every model, shared by the kernel and scheme tests."""
import numpy as np
import sympy as sp

from landscape_sde import symbolic
from models import DoubleWell, LinearRegression, PolynomialPotential, Quadratic
from models.deep_linear import DeepLinearNetwork
from models.tanh_network import TanhNetwork


def symbolic_twins():
    """SymPy versions of hand-written models, as ``{name: (symbolic, hand_written)}``."""
    quad = Quadratic([[1.5, 0.3], [0.3, 1.0]], [[1.0, 0.2], [0.2, 0.5]], n_samples=5)
    t0, t1, a0, a1 = sp.symbols("t0 t1 a0 a1")
    h = quad.hessian_matrix
    q_expr = (h[0, 0] * t0**2 + 2 * h[0, 1] * t0 * t1 + h[1, 1] * t1**2) / 2 + a0 * t0 + a1 * t1
    lin = LinearRegression.teacher_student(20, 3, noise=0.3, rng=1)
    w = sp.symbols("w0:3")
    x = sp.symbols("x0:3")
    yy = sp.Symbol("y")
    lin_expr = (sum(wi * xi for wi, xi in zip(w, x)) - yy) ** 2 / 2
    x_, y_ = sp.symbols("x y")
    return {
        "sym-quadratic": (symbolic.finite_sum(q_expr, [t0, t1], {(a0, a1): quad.offsets}), quad),
        "sym-linreg": (symbolic.finite_sum(lin_expr, w, {x: lin.X, yy: lin.y}), lin),
        "sym-double-well": (symbolic.potential((x_**2 - 1)**2 + 2 * y_**2, [x_, y_]),
                            DoubleWell(dim=2)),
    }


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
        "deep-linear": _deep_linear(),
        "tanh-network": TanhNetwork.chebyshev(width=5, degree=3, n_samples=7),
        **{name: pair[0] for name, pair in symbolic_twins().items()},
    }


def _deep_linear():
    """A small deep linear network evaluated away from its initialisation scale."""
    return DeepLinearNetwork.teacher_student([3, 4, 5, 2], 7, noise=0.1, rng=0)
