"""Bad input across the public API: every row of the table must raise ``ValueError`` or
``TypeError`` (or a subclass) whose message names the argument and the offending value, before
any work starts (no run, no compilation, no file written). Rows that used to give a silently
wrong result (a complex part dropped, a negative curvature, a non-PSD diffusion, a string
passed for a number, a file loaded with inconsistent arrays) are in the table too.

Grow the table with every new argument. ``python tests/test_bad_input.py`` prints the survey:
every row, its exception and message, and the rows without a clear error.
"""
import functools
import json
import math
import os
import pathlib
import sys
import tempfile
import zipfile

import numpy as np
import pytest

import landscape_sde as lsde
from landscape_sde.fokker_planck import FokkerPlanck, Grid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import analysis.catapult as catapult  # noqa: E402
import analysis.curvature as curvature  # noqa: E402
import analysis.effective_loss as effective_loss  # noqa: E402
import analysis.fdr as fdr  # noqa: E402
import analysis.large_batch as large_batch  # noqa: E402
import analysis.noise_scale as noise_scale  # noqa: E402
import analysis.stability as stability  # noqa: E402
import analysis.stationary as stationary  # noqa: E402
import models  # noqa: E402
from models.deep_linear import DeepLinearNetwork  # noqa: E402
from models.tanh_network import TanhNetwork  # noqa: E402

CASES = []  # (id, argument, value token, thunk(tmp), exception types)
CLEAR = (ValueError, TypeError)


def bad(argument, token, thunk, label=None, kinds=CLEAR):
    """Register a row: ``thunk(tmp)`` must raise one of ``kinds`` with a message naming
    ``argument`` and showing ``token``."""
    label = label or f"{argument}={token}"
    same = sum(c[0] == label or c[0].startswith(label + " #") for c in CASES)
    CASES.append((f"{label} #{same + 1}" if same else label, argument, token, thunk, kinds))


# --- shared valid objects -----------------------------------------------------------------
Q = models.Quadratic(np.diag([1.0, 2.0]), 0.1 * np.eye(2), n_samples=4)
H2 = np.diag([1.0, 2.0])
GRID = Grid([-1.0], [1.0], (16,))
FP = FokkerPlanck(GRID, 0.5, potential=lambda p: p[:, 0] ** 2)
P0 = np.full(16, 1 / 2.0)


def run(**kw):
    args = dict(model=Q, scheme=lsde.GD(0.1), theta0=np.zeros(2), n_steps=10)
    args.update(kw)
    return lsde.simulate(args.pop("model"), args.pop("scheme"), args.pop("theta0"), **args)


def cell(lr, rng=None):
    return {"x": lr}


# --- scalar fields of every scheme ----------------------------------------------------------
NAN, INF = float("nan"), float("inf")
NOT_REAL = [(NAN, "nan"), (INF, "inf"), ("0.1", "'0.1'"), (1j, "1j"), ([0.1], "[0.1]"),
            (True, "True")]
NOT_INT = [(2.5, "2.5"), ("4", "'4'"), (True, "True"), (NAN, "nan"), (None, "None")]
NOT_BOOL = [("yes", "'yes'"), (1, "1"), (None, "None")]

SCHEMES = {  # class: (valid kwargs, {field: (kind, out-of-range value, its token)})
    lsde.GD: ({"lr": 0.1}, {"lr": ("real", -1.0, "-1.0"), "momentum": ("real", 1.0, "1.0")}),
    lsde.SGD: ({"lr": 0.1, "batch_size": 2},
               {"lr": ("real", 0.0, "0.0"), "batch_size": ("int", 0, "0"),
                "replace": ("bool",), "momentum": ("real", -0.5, "-0.5"), "shuffle": ("bool",)}),
    lsde.NSGD: ({"lr": 0.1, "batch_size": 2},
                {"lr": ("real", -1.0, "-1.0"), "batch_size": ("int", 0, "0"),
                 "k": ("int", 0, "0"), "gamma": ("real", -1.0, "-1.0"),
                 "refresh_every": ("int", 0, "0"), "replace": ("bool",),
                 "momentum": ("real", 1.5, "1.5")}),
    lsde.SME: ({"lr": 0.1, "batch_size": 2},
               {"lr": ("real", -1.0, "-1.0"), "batch_size": ("int", -2, "-2"),
                "replace": ("bool",), "dt": ("real", 0.0, "0.0")}),
    lsde.Langevin: ({"dt": 0.1, "temperature": 1.0},
                    {"dt": ("real", 0.0, "0.0"), "temperature": ("real", -1.0, "-1.0")}),
    lsde.LeimkuhlerMatthews: ({"dt": 0.1, "temperature": 1.0},
                              {"dt": ("real", -0.1, "-0.1"), "temperature": ("real", 0.0, "0.0")}),
    lsde.AnisotropicLangevin: ({"dt": 0.1}, {"dt": ("real", -1.0, "-1.0")}),
    lsde.BAOAB: ({"dt": 0.1, "temperature": 1.0, "friction": 1.0},
                 {"dt": ("real", 0.0, "0.0"), "temperature": ("real", -1.0, "-1.0"),
                  "friction": ("real", -1.0, "-1.0"), "mass": ("real", 0.0, "0.0")}),
    lsde.UnderdampedEuler: ({"dt": 0.1, "temperature": 1.0, "friction": 1.0},
                            {"dt": ("real", 0.0, "0.0"), "temperature": ("real", -1.0, "-1.0"),
                             "friction": ("real", 0.0, "0.0"), "mass": ("real", -1.0, "-1.0")}),
    lsde.GradientFlow: ({"dt": 0.1}, {"dt": ("real", 0.0, "0.0")}),
    lsde.Adam: ({"lr": 0.1},
                {"lr": ("real", -1.0, "-1.0"), "beta1": ("real", 1.0, "1.0"),
                 "beta2": ("real", -0.1, "-0.1"), "eps": ("real", 0.0, "0.0"),
                 "batch_size": ("int", 0, "0"), "replace": ("bool",),
                 "bias_correction": ("bool",)}),
    lsde.RMSProp: ({"lr": 0.1},
                   {"lr": ("real", 0.0, "0.0"), "beta2": ("real", 1.0, "1.0"),
                    "eps": ("real", -1.0, "-1.0"), "batch_size": ("int", 0, "0"),
                    "replace": ("bool",)}),
    lsde.LabelNoiseSGD: ({"lr": 0.1, "sigma": 0.5},
                         {"lr": ("real", 0.0, "0.0"), "sigma": ("real", -0.5, "-0.5"),
                          "batch_size": ("int", 0, "0"), "replace": ("bool",)}),
}
for cls, (valid, fields) in SCHEMES.items():
    for field, (kind, *extra) in fields.items():
        values = {"real": NOT_REAL, "int": NOT_INT, "bool": NOT_BOOL}[kind] + \
            ([tuple(extra)] if extra else [])
        values += [(None, "None")] if kind == "real" else []
        for value, token in values:
            if value is None and (field == "batch_size" and cls in (lsde.Adam, lsde.RMSProp,
                                                                lsde.LabelNoiseSGD)
                                  or field == "dt" and cls is lsde.SME):
                continue  # None is allowed there
            bad(field, token, lambda tmp, c=cls, f=field, v=value, va=valid: c(**{**va, f: v}),
                f"{cls.__name__}({field}={token})")
# a scheme that does not fit the model
bad("batch_size", "8", lambda tmp: run(scheme=lsde.SGD(0.1, 8)))
bad("batch_size", "5", lambda tmp: run(scheme=lsde.Adam(0.1, batch_size=5)), "Adam batch_size")
bad("k", "3", lambda tmp: run(scheme=lsde.NSGD(0.1, 2, k=3)), "NSGD k > dim")
bad("model", "Quadratic", lambda tmp: run(scheme=lsde.LabelNoiseSGD(0.1, 0.5)),
    "LabelNoiseSGD on a model without targets")
bad("batch_size", "5", lambda tmp: run(model=models.LinearRegression(np.eye(4)[:, :2], np.ones(4)),
                                       scheme=lsde.LabelNoiseSGD(0.1, 0.5, batch_size=5)),
    "LabelNoiseSGD batch_size > N")
bad("model", "Quadratic", lambda tmp: run(scheme=lsde.AnisotropicLangevin(0.1)),
    "AnisotropicLangevin on a model without diffusion")

# --- simulate --------------------------------------------------------------------------------
bad("model", "str", lambda tmp: run(model="quadratic"))
bad("model", "Quadratic", lambda tmp: run(model=models.Quadratic), "model=class")
bad("scheme", "GD", lambda tmp: run(scheme=lsde.GD), "scheme=class")
bad("scheme", "str", lambda tmp: run(scheme="GD"))
bad("theta0", "(1, 3)", lambda tmp: run(theta0=[[1.0, 2.0, 3.0]]))
bad("theta0", "(3,)", lambda tmp: run(theta0=[1.0, 2.0, 3.0]))
bad("theta0", "(3, 2)", lambda tmp: run(theta0=np.zeros((3, 2)), n_replicas=2))
bad("theta0", "1j", lambda tmp: run(theta0=[1j, 0.0]), "theta0 complex")
bad("theta0", "'a'", lambda tmp: run(theta0=["a", "b"]), "theta0 strings")
bad("theta0", "nan", lambda tmp: run(theta0=[NAN, 0.0]))
bad("theta0", "(0,)", lambda tmp: run(theta0=[]))
bad("theta0", "1e+11", lambda tmp: run(theta0=[1e11, 0.0]))
bad("theta0", "None", lambda tmp: run(theta0=None))
for name, value, token in [("n_steps", 0, "0"), ("n_steps", 1.5, "1.5"), ("n_steps", "10", "'10'"),
                           ("n_steps", None, "None"), ("n_steps", True, "True"),
                           ("n_replicas", 0, "0"), ("n_replicas", 2.5, "2.5"),
                           ("n_replicas", -3, "-3"), ("save_every", 0, "0"),
                           ("save_every", 1.5, "1.5"), ("save_at", [-1], "-1"),
                           ("save_at", [1.5], "1.5"), ("save_at", [[1]], "[[1]]"),
                           ("save_at", [], "[]"), ("save_at", [11], "11"),
                           ("save_at", "5", "'5'"),
                           ("rng", "abc", "'abc'"), ("rng", -1, "-1"), ("rng", 1.5, "1.5"),
                           ("divergence_bound", 0, "0"), ("divergence_bound", NAN, "nan"),
                           ("divergence_bound", "1e10", "'1e10'"),
                           ("observe", [], "list"), ("observe", {"a": 5}, "5"),
                           ("observe", {"a": (0, np.sum)}, "0"),
                           ("observe", {"a": (1, "f")}, "'f'"),
                           ("observe", {"a": (11, np.sum)}, "11"),
                           ("observe", {"a": (1, np.sum, "velocity")}, "'velocity'"),
                           ("stream", "x", "str"), ("progress", "yes", "'yes'"),
                           ("progress", 1, "1")]:
    bad(name, token, lambda tmp, n=name, v=value: run(**{n: v}))
bad("stream", "1e+11", lambda tmp: run(stream=lsde.Streaming(abs_above=1e11)), "stream abs_above")


def _raises(theta):
    raise RuntimeError("boom")


def _bad_value():
    raise ValueError("not at the minimum")


bad("observe['sharp']", "step 0", lambda tmp: run(observe={"sharp": (5, _raises)}),
    "observer raises", kinds=(RuntimeError,))
bad("observe['sharp']", "not at the minimum", lambda tmp: run(observe={"sharp": (5, lambda th: _bad_value())}),
    "observer raises ValueError (kept as ValueError)", kinds=(ValueError,))
bad("observe['sharp']", "step 0", lambda tmp: run(observe={"sharp": (5, lambda th: ["a"] * len(th))}),
    "observer returns strings")
bad("observe['sharp']", "(3,)", lambda tmp: run(observe={"sharp": (5, lambda th: np.zeros(3))}),
    "observer returns the wrong shape")
bad("observe['sharp']", "None", lambda tmp: run(observe={"sharp": (5, lambda th: None)}),
    "observer returns None")

# --- Streaming, rng, noise, fields -----------------------------------------------------------
for kw, name, token in [({"coords": "x"}, "coords", "'x'"), ({"coords": (-1,)}, "coords", "-1"),
                        ({"coords": (0.5,)}, "coords", "0.5"),
                        ({"histogram": (0, 1)}, "histogram", "(0, 1)"),
                        ({"histogram": (0, 1.0, -1.0, 10)}, "histogram", "-1.0"),
                        ({"loss_below": NAN}, "loss_below", "nan"),
                        ({"abs_above": -1.0}, "abs_above", "-1.0"),
                        ({"blocks": 0}, "blocks", "0"), ({"blocks": 2.5}, "blocks", "2.5")]:
    bad(name, token, lambda tmp, kw=kw: lsde.Streaming(**kw), f"Streaming({name}={token})")
bad("coords", "5", lambda tmp: run(stream=lsde.Streaming(coords=(5,))), "Streaming coords >= dim")
for value, token in [("abc", "'abc'"), (-1, "-1"), (1.5, "1.5"), ([1.5], "[1.5]")]:
    bad("rng", token, lambda tmp, v=value: lsde.rng.as_seed_sequence(v), f"as_seed_sequence({token})")
bad("n_samples", "0", lambda tmp: lsde.noise.batch_noise_factor(0, 1))
bad("batch_size", "5", lambda tmp: lsde.noise.batch_noise_factor(4, 5))
bad("batch_size", "0", lambda tmp: lsde.noise.batch_noise_factor(4, 0))
bad("replace", "'no'", lambda tmp: lsde.noise.batch_noise_factor(4, 2, "no"))
bad("sample_grads", "(4,)", lambda tmp: lsde.noise.per_sample_covariance(np.zeros(4)))
bad("sample_grads", "1j", lambda tmp: lsde.noise.per_sample_covariance(np.ones((4, 2)) * 1j))
bad("points", "(5, 3)", lambda tmp: lsde.fields.losses(Q, np.zeros((5, 3))))
bad("points", "1j", lambda tmp: lsde.fields.gradients(Q, np.ones((5, 2)) * 1j))
bad("points", "nan", lambda tmp: lsde.fields.gradients(Q, np.full((5, 2), NAN)))
bad("model", "str", lambda tmp: lsde.fields.losses("q", np.zeros((5, 2))))
bad("scheme", "GD", lambda tmp: lsde.fields.diffusion_of(Q, lsde.GD(0.1), np.zeros((5, 2))))
bad("theta", "(3,)", lambda tmp: lsde.hessian.hessian_eigenpairs(Q, np.zeros(3)))
bad("k", "0", lambda tmp: lsde.hessian.hessian_eigenpairs(Q, np.zeros(2), k=0))
bad("method", "'qr'", lambda tmp: lsde.hessian.hessian_eigenpairs(Q, np.zeros(2), method="qr"))
bad("tol", "-1.0", lambda tmp: lsde.hessian.hessian_eigenpairs(Q, np.zeros(2), tol=-1.0))

# --- models ----------------------------------------------------------------------------------
bad("hessian", "(2, 3)", lambda tmp: models.Quadratic(np.zeros((2, 3))))
bad("hessian", "3.0", lambda tmp: models.Quadratic([[1.0, 2.0], [3.0, 4.0]]), "hessian not symmetric")
bad("hessian", "1j", lambda tmp: models.Quadratic([[1j, 0], [0, 1]]), "hessian complex")
bad("hessian", "'abc'", lambda tmp: models.Quadratic("abc"))
bad("hessian", "nan", lambda tmp: models.Quadratic([[NAN]]))
bad("hessian", "(2,)", lambda tmp: models.Quadratic([1.0, 2.0]))
bad("noise_cov", "-1", lambda tmp: models.Quadratic(H2, [[1.0, 0], [0, -1.0]]), "noise_cov not PSD")
bad("noise_cov", "(3, 3)", lambda tmp: models.Quadratic(H2, np.eye(3)))
bad("noise_cov", "1j", lambda tmp: models.Quadratic(H2, np.eye(2) * 1j), "noise_cov complex")
bad("n_samples", "2", lambda tmp: models.Quadratic(H2, np.eye(2), n_samples=2))
bad("n_samples", "2.5", lambda tmp: models.Quadratic(H2, n_samples=2.5))
bad("center", "1j", lambda tmp: models.Quadratic(H2, center=[1j, 0.0]), "center complex")
bad("center", "(3,)", lambda tmp: models.Quadratic(H2, center=[0.0, 0.0, 0.0]))
X34 = np.ones((3, 4))
bad("X", "(3,)", lambda tmp: models.LinearRegression(np.ones(3), np.ones(3)))
bad("y", "(2,)", lambda tmp: models.LinearRegression(X34, np.ones(2)))
bad("X", "1j", lambda tmp: models.LinearRegression(X34 * 1j, np.ones(3)), "X complex")
bad("y", "1j", lambda tmp: models.LinearRegression(X34, np.ones(3) * 1j), "y complex")
bad("X", "nan", lambda tmp: models.LinearRegression(X34 * NAN, np.ones(3)))
bad("n_samples", "0", lambda tmp: models.LinearRegression.teacher_student(0, 3, rng=0))
bad("dim", "0", lambda tmp: models.DoubleWell(dim=0))
bad("dim", "2.5", lambda tmp: models.DoubleWell(dim=2.5))
bad("barrier", "-1.0", lambda tmp: models.DoubleWell(barrier=-1.0))
bad("barrier", "'1'", lambda tmp: models.DoubleWell(barrier="1"))
bad("stiffness", "0.0", lambda tmp: models.DoubleWell(stiffness=0.0))
bad("coeffs", "'abc'", lambda tmp: models.PolynomialPotential("abc"))
bad("coeffs", "(2, 2, 2)", lambda tmp: models.PolynomialPotential(np.ones((2, 2, 2))))
bad("coeffs", "1j", lambda tmp: models.PolynomialPotential([0.0, 1j, 1.0]), "coeffs complex")
bad("lam", "'flat'", lambda tmp: models.Valley("flat"))
bad("lam0", "-1.0", lambda tmp: models.Valley(lam0=-1.0), "Valley lam0 < 0: λ(x) negative")
bad("amp", "2.0", lambda tmp: models.Valley(amp=2.0), "Valley amp > lam0: λ(x) changes sign")
bad("amp", "1.0", lambda tmp: models.Valley(amp=1.0), "Valley amp = lam0: λ(x) reaches zero")
bad("lam", "-1", lambda tmp: models.Valley(models.valley.X - 1), "Valley lam = x - 1 changes sign")
bad("lam", "-", lambda tmp: models.Valley(models.valley.sp.cos(models.valley.X)), "Valley lam = cos x")
bad("lam", "-1", lambda tmp: models.Valley(-1 - models.valley.X ** 2), "Valley lam negative")
bad("lam", "y", lambda tmp: models.Valley(models.valley.Y + 2), "Valley lam in y")
bad("delta", "0.0", lambda tmp: models.Valley(delta=0.0))
bad("kappa", "-1.0", lambda tmp: models.Valley(kappa=-1.0))
bad("alpha", "nan", lambda tmp: models.Valley(alpha=NAN))
bad("amp", "2.0", lambda tmp: models.FiniteSumValley(amp=2.0), "FiniteSumValley amp > lam0")
bad("sigma_x", "-0.5", lambda tmp: models.FiniteSumValley(sigma_x=-0.5))
bad("n_samples", "0", lambda tmp: models.FiniteSumValley(n_samples=0))
bad("x", "(4,)", lambda tmp: models.ProductNetwork(np.ones(3), np.ones(4)), "ProductNetwork x, y lengths")
bad("n_samples", "0", lambda tmp: models.ProductNetwork(n_samples=0))
bad("label_noise", "-1.0", lambda tmp: models.ProductNetwork(label_noise=-1.0))
bad("rng", "'abc'", lambda tmp: models.ProductNetwork(rng="abc"))
bad("x", "1j", lambda tmp: models.ProductNetwork(np.ones(3) * 1j, np.ones(3)), "ProductNetwork x complex")
bad("depth", "0", lambda tmp: models.ScalarProductNetwork(0))
bad("depth", "1.5", lambda tmp: models.ScalarProductNetwork(1.5))
bad("depth", "'2'", lambda tmp: models.ScalarProductNetwork("2"))
XD, YD = np.ones((5, 3)), np.ones((5, 2))
bad("widths", "3", lambda tmp: DeepLinearNetwork(3, XD, YD), "DeepLinearNetwork widths=int")
bad("widths", "[3]", lambda tmp: DeepLinearNetwork([3], XD, YD))
bad("widths", "[4, 2, 2]", lambda tmp: DeepLinearNetwork([4, 2, 2], XD, YD), "widths[0] != X columns")
bad("widths", "[3, 2, 5]", lambda tmp: DeepLinearNetwork([3, 2, 5], XD, YD), "widths[-1] != Y columns")
bad("widths", "0", lambda tmp: DeepLinearNetwork([3, 0, 2], XD, YD))
bad("widths", "2.5", lambda tmp: DeepLinearNetwork([3, 2.5, 2], XD, YD))
bad("X", "1j", lambda tmp: DeepLinearNetwork([3, 2, 2], XD * 1j, YD), "DeepLinearNetwork X complex")
bad("Y", "(4, 2)", lambda tmp: DeepLinearNetwork([3, 2, 2], XD, np.ones((4, 2))))
bad("widths", "3", lambda tmp: DeepLinearNetwork.teacher_student(3, 10, rng=0), "teacher_student widths=int")
bad("n_samples", "0", lambda tmp: DeepLinearNetwork.teacher_student([3, 2], 0, rng=0), "teacher_student n_samples")
bad("teacher_widths", "[4, 2]", lambda tmp: DeepLinearNetwork.teacher_student([3, 2], 5, teacher_widths=[4, 2]))
bad("width", "0", lambda tmp: TanhNetwork(0, np.ones(3), np.ones(3)))
bad("width", "'4'", lambda tmp: TanhNetwork("4", np.ones(3), np.ones(3)))
bad("y", "(4,)", lambda tmp: TanhNetwork(4, np.ones(3), np.ones(4)), "TanhNetwork x, y lengths")
bad("x", "1j", lambda tmp: TanhNetwork(4, np.ones(3) * 1j, np.ones(3)), "TanhNetwork x complex")

# --- symbolic ---------------------------------------------------------------------------------


def _sym(make):
    def thunk(tmp):
        import sympy as sp
        w, v, x = sp.symbols("w v x")
        return make(sp, w, v, x)
    return thunk


bad("target", "x", _sym(lambda sp, w, v, x: lsde.symbolic.finite_sum(
    sp.cos(w * v - x), [w], {v: np.ones(3), x: np.ones(3)}, target=x)), "target not affine")
bad("target", "w", _sym(lambda sp, w, v, x: lsde.symbolic.finite_sum(
    (w * v - x) ** 2 / 2, [w], {v: np.ones(3), x: np.ones(3)}, target=w)), "target not data")
bad("X", "(4, 9)", lambda tmp: models.DiagonalLinearNetwork(np.ones((4, 9)), np.ones(4)),
    "DiagonalLinearNetwork too wide")
bad("n_samples", "6", lambda tmp: models.DiagonalLinearNetwork.orthogonal_design(
    [1.0], [1.0], n_samples=6), "orthogonal_design n_samples")
bad("loss", "f(w)", _sym(lambda sp, w, v, x: lsde.symbolic.potential(sp.Function("f")(w), [w])),
    "undefined function")
bad("loss", "besselj", _sym(lambda sp, w, v, x: lsde.symbolic.potential(sp.besselj(0, w), [w])),
    "besselj")
bad("loss", "I", _sym(lambda sp, w, v, x: lsde.symbolic.potential(sp.I * w ** 2, [w])), "complex constant")
bad("loss", "list", _sym(lambda sp, w, v, x: lsde.symbolic.potential([w ** 2], [w])))
bad("loss", "'v'", _sym(lambda sp, w, v, x: lsde.symbolic.potential(w ** 2 + v, [w])), "free symbol")
bad("params", "'w'", _sym(lambda sp, w, v, x: lsde.symbolic.potential(w ** 2, "w")))
bad("params", "()", _sym(lambda sp, w, v, x: lsde.symbolic.potential(w ** 2, [])))
bad("diffusion", "1", _sym(lambda sp, w, v, x: lsde.symbolic.potential(w ** 2 + v ** 2, [w, v], diffusion=[w])))
bad("diffusion", "-1", _sym(lambda sp, w, v, x: lsde.symbolic.potential(w ** 2, [w], diffusion=[-1])),
    "diffusion negative")
bad("data", "[1, 2]", _sym(lambda sp, w, v, x: lsde.symbolic.finite_sum((w * x) ** 2, [w], [1, 2])))
bad("data[x]", "1j", _sym(lambda sp, w, v, x: lsde.symbolic.finite_sum((w * x) ** 2, [w], {x: np.ones(3) * 1j})),
    "finite_sum data complex")
bad("data[x]", "'a'", _sym(lambda sp, w, v, x: lsde.symbolic.finite_sum((w * x) ** 2, [w], {x: ["a", "b"]})))
bad("data", "'x'", _sym(lambda sp, w, v, x: lsde.symbolic.finite_sum((w * x) ** 2, [w], {"x": np.ones(3)})))

# --- Fokker-Planck ----------------------------------------------------------------------------
for kw, name, token in [({"lower": [1.0], "upper": [-1.0]}, "upper", "-1.0"),
                        ({"shape": (1,)}, "shape", "1"), ({"shape": (0,)}, "shape", "0"),
                        ({"shape": (2.5,)}, "shape", "2.5"), ({"shape": (8, 8)}, "shape", "(8, 8)"),
                        ({"boundary": "open"}, "boundary", "'open'"),
                        ({"lower": [NAN]}, "lower", "nan"), ({"upper": ["1"]}, "upper", "'1'"),
                        ({"lower": [1j]}, "lower", "1j")]:
    args = {"lower": [-1.0], "upper": [1.0], "shape": (8,), **kw}
    bad(name, token, lambda tmp, a=args: Grid(**a), f"Grid({name}={token})")
bad("grid", "str", lambda tmp: FokkerPlanck("grid", 1.0, potential=np.zeros(16)))
bad("diffusion", "-1.0", lambda tmp: FokkerPlanck(GRID, -1.0, potential=np.zeros(16)))
bad("diffusion", "nan", lambda tmp: FokkerPlanck(GRID, NAN, potential=np.zeros(16)))
bad("diffusion", "'1'", lambda tmp: FokkerPlanck(GRID, "1", potential=np.zeros(16)))
bad("diffusion", "1j", lambda tmp: FokkerPlanck(GRID, 1j, potential=np.zeros(16)), "diffusion complex")
bad("diffusion", "(16, 3)", lambda tmp: FokkerPlanck(GRID, lambda p: np.ones((len(p), 3)),
                                                    potential=np.zeros(16)), "diffusion wrong shape")
G2 = Grid([-1.0, -1.0], [1.0, 1.0], (6, 6))
bad("diffusion", "-", lambda tmp: FokkerPlanck(
    G2, lambda p: np.broadcast_to([[1.0, 2.0], [2.0, 1.0]], (len(p), 2, 2)),
    potential=lambda p: (p ** 2).sum(1)), "diffusion not PSD")
bad("diffusion", "(6, 6)", lambda tmp: FokkerPlanck(G2, np.ones((6, 6)), potential=lambda p: (p ** 2).sum(1)),
    "diffusion values of the wrong shape")
bad("potential", "(5,)", lambda tmp: FokkerPlanck(GRID, 1.0, potential=np.zeros(5)))
bad("potential", "1j", lambda tmp: FokkerPlanck(GRID, 1.0, potential=np.ones(16) * 1j), "potential complex")
bad("drift", "(16, 2)", lambda tmp: FokkerPlanck(GRID, 1.0, drift=lambda p: np.ones((len(p), 2))),
    "drift wrong shape")
bad("drift", "(16,)", lambda tmp: FokkerPlanck(GRID, 1.0, drift=lambda p: np.ones(len(p))),
    "drift 1-D")
bad("potential/drift", "None", lambda tmp: FokkerPlanck(GRID, 1.0))
bad("dt", "0.0", lambda tmp: FP.evolve(P0, [0.0, 1.0], "implicit-euler", dt=0.0))
bad("dt", "-0.1", lambda tmp: FP.evolve(P0, [0.0, 1.0], "crank-nicolson", dt=-0.1))
bad("dt", "dt=2", lambda tmp: FP.evolve(P0, [0.0, 1.0], "implicit-euler", dt=2.0), "dt > time span")
bad("times", "nan", lambda tmp: FP.evolve(P0, [0.0, NAN]))
bad("times", "-1.0", lambda tmp: FP.evolve(P0, [-1.0, 1.0]))
bad("times", "[1.0, 0.5]", lambda tmp: FP.evolve(P0, [1.0, 0.5]))
bad("times", "'1'", lambda tmp: FP.evolve(P0, ["1"]))
bad("times", "[]", lambda tmp: FP.evolve(P0, []))
bad("p0", "nan", lambda tmp: FP.evolve(np.full(16, NAN), [1.0]), "p0 NaN")
bad("p0", "0.5j", lambda tmp: FP.evolve(P0 * 1j, [1.0]), "p0 complex")
bad("p0", "15", lambda tmp: FP.evolve(np.ones(15), [1.0]))
bad("method", "'rk4'", lambda tmp: FP.evolve(P0, [1.0], "rk4"))
bad("diffusion_scale", "-1.0", lambda tmp: FP.evolve(P0, [1.0], "implicit-euler", diffusion_scale=-1.0))
bad("k", "0", lambda tmp: FP.relaxation_rates(0))
bad("k", "1.5", lambda tmp: FP.relaxation_rates(1.5))
bad("target", "(5,)", lambda tmp: FP.mfpt(np.ones(5, dtype=bool)))
bad("target", "'left'", lambda tmp: FP.mfpt("left"))
bad("source", "(3,)", lambda tmp: FP.committor(np.ones(3, dtype=bool), np.arange(16) > 12))
bad("p", "15", lambda tmp: FP.current(np.ones(15)))
bad("model", "str", lambda tmp: FokkerPlanck.from_model("q", lsde.SME(0.1, 2), G2))
bad("scheme", "GD", lambda tmp: FokkerPlanck.from_model(Q, lsde.GD(0.1), G2))
bad("grid", "1", lambda tmp: FokkerPlanck.from_model(Q, lsde.SME(0.1, 2), GRID))

# --- analysis ---------------------------------------------------------------------------------
T0 = np.zeros(2)
for name, thunk, token in [
        ("k", lambda: curvature.sharpness(Q, T0, k=0), "0"),
        ("theta", lambda: curvature.sharpness(Q, np.zeros(3)), "(3,)"),
        ("theta", lambda: curvature.step_sharpness(Q, [1j, 0.0]), "1j"),
        ("batch_size", lambda: curvature.minibatch_sharpness(Q, T0, 0), "0"),
        ("batch_size", lambda: curvature.minibatch_sharpness(Q, T0, 9), "9"),
        ("rel_tol", lambda: curvature.minibatch_sharpness(Q, T0, 2, rel_tol=-1.0), "-1.0"),
        ("P", lambda: curvature.preconditioned_sharpness(Q, T0, -np.ones(2)), "-1.0"),
        ("lr", lambda: curvature.sharpest_directions(Q, T0, -0.1), "-0.1"),
        ("quantities", lambda: curvature.tracker(Q, ["flatness"]), "'flatness'"),
        ("quantities", lambda: curvature.tracker(Q, "sharpness", lr=0.1), "'sharpness'"),
        ("kind", lambda: curvature.curvature_operator(Q, T0, kind="fisherman"), "'fisherman'"),
        ("n_probes", lambda: curvature.hessian_trace(Q, T0, n_probes=0), "0"),
        ("probes", lambda: curvature.hessian_trace(Q, T0, n_probes=4, probes="cauchy"), "'cauchy'"),
        ("n_lanczos", lambda: curvature.spectral_density(Q, T0, n_probes=2, n_lanczos=0), "0"),
        ("ratio", lambda: curvature.marchenko_pastur(-1.0), "-1.0"),
        ("width", lambda: curvature.SpectralDensity(np.ones((1, 2)), np.ones((1, 2)) / 2,
                                                    np.zeros(0), 2, 4).density(np.ones(3), 0.0), "0.0"),
        ("H", lambda: stationary.discrete_lyapunov(np.ones((2, 3)), np.eye(2), 0.1), "(2, 3)"),
        ("lr", lambda: stationary.discrete_lyapunov(H2, np.eye(2), -0.1), "-0.1"),
        ("H", lambda: stationary.discrete_lyapunov(H2 * 1j, np.eye(2), 0.1), "1j"),
        ("noise_cov", lambda: stationary.discrete_lyapunov(H2, np.eye(3), 0.1), "(3, 3)"),
        ("momentum", lambda: stationary.discrete_lyapunov(H2, np.eye(2), 0.1, momentum=1.0), "1.0"),
        ("D", lambda: stationary.continuous_lyapunov(H2, -np.eye(2)), "-1"),
        ("temperature", lambda: stationary.boltzmann_moment(lambda x: x ** 2, 0.0, lambda x: x), "0.0"),
        ("batch_size", lambda: stationary.linear_sgd_moments(Q, 0.1, 0), "0"),
        ("lr", lambda: noise_scale.noise_scale(-0.1, 2, 8), "-0.1"),
        ("batch_size", lambda: noise_scale.noise_scale(0.1, 0, 8), "0"),
        ("batch_size", lambda: noise_scale.noise_scale(0.1, 9, 8), "9"),
        ("n_samples", lambda: noise_scale.noise_scale(0.1, 2, "8"), "'8'"),
        ("g", lambda: noise_scale.batch_size_for_noise_scale(-1.0, 0.1, 8), "-1.0"),
        ("lrs", lambda: noise_scale.batch_growth_schedule([], 2, 8), "[]"),
        ("stages", lambda: noise_scale.run_schedule(Q, [], T0), "[]"),
        ("lr", lambda: stability.mean_square_stability(Q, T0, -0.1, 2), "-0.1"),
        ("batch_size", lambda: stability.wu_ma_e_criterion(Q, T0, 0.1, 0), "0"),
        ("epsilon", lambda: large_batch.keskar_sharpness(Q, T0, -1.0), "-1.0"),
        ("batch_sizes", lambda: large_batch.batch_size_sweep(Q, T0, [0], n_epochs=1, lr=0.1), "0"),
        ("n_epochs", lambda: large_batch.batch_size_sweep(Q, T0, [2], n_epochs=0, lr=0.1), "0"),
        ("temperature", lambda: effective_loss.effective_loss(P0, GRID, 0.0), "0.0"),
        ("p", lambda: effective_loss.effective_loss(np.ones(5), GRID, 1.0), "5"),
        ("kappa", lambda: effective_loss.adiabatic_sgd_loss(np.ones(3), 0.1, 0.0), "0.0"),
        ("every", lambda: fdr.measure_fdr(Q, lsde.SGD(0.1, 2), T0, n_steps=10, n_replicas=2,
                                          every=0, burn_in=0), "0"),
        ("burn_in", lambda: fdr.measure_fdr(Q, lsde.SGD(0.1, 2), T0, n_steps=10, n_replicas=2,
                                            every=1, burn_in=20), "20"),
        ("scheme", lambda: fdr.FDRObserver(Q, lsde.Langevin(0.1, 1.0)), "Langevin"),
        ("n_batches", lambda: fdr.block_statistics(np.ones(10), 0), "0"),
        ("n_se", lambda: fdr.relation("r", np.ones(10), np.ones(10), n_se=-1.0), "-1.0"),
        ("ratios", lambda: catapult.phase_sweep(Q, T0, [-1.0], n_steps=10), "-1.0"),
        ("n_steps", lambda: catapult.phase_sweep(Q, T0, [1.0], n_steps=0), "0"),
        ("width", lambda: catapult.uv_model(0), "0"),
        ("rtol", lambda: catapult.classify(np.ones(3), False, rtol=-1.0), "-1.0")]:
    names = thunk.__code__.co_names
    bad(name, token, lambda tmp, f=thunk: f(), f"{'.'.join(names[:2])}({name}={token})")

# --- sweeps -----------------------------------------------------------------------------------


def sweep(tmp, **kw):
    args = dict(run_cell=cell, grid={"lr": [0.1, 0.2]}, store=tmp / "s.zarr", progress=False)
    args.update(kw)
    return lsde.sweep(args.pop("run_cell"), args.pop("grid"), args.pop("store"), **args)


def _file(tmp):
    (tmp / "afile").write_text("x")
    return tmp / "afile"


for name, kw, token in [
        ("run_cell", {"run_cell": "cell"}, "str"),
        ("grid", {"grid": [0.1, 0.2]}, "[0.1, 0.2]"),
        ("grid", {"grid": {}}, "{}"),
        ("grid['lr']", {"grid": {"lr": 0.1}}, "0.1"),
        ("grid['lr']", {"grid": {"lr": []}}, "[]"),
        ("grid['lr']", {"grid": {"lr": [0.1, "fast"]}}, "'fast'"),
        ("grid['lr']", {"grid": {"lr": [0.1, 0.1]}}, "0.1"),
        ("grid['lr']", {"grid": {"lr": [[0.1], [0.2]]}}, "[[0.1], [0.2]]"),
        ("grid['lr']", {"grid": {"lr": [0.1, NAN]}}, "nan"),
        ("grid", {"grid": {"status": [1, 2]}}, "'status'"),
        ("grid", {"grid": {"rng": [1, 2]}}, "'rng'"),
        ("grid", {"grid": {"lr": [0.1], "batch size": [1]}}, "'batch size'"),
        ("grid", {"grid": {"lr": [0.1], "seconds": [1]}}, "'seconds'"),
        ("seed", {"seed": "abc"}, "'abc'"),
        ("seed", {"seed": -1}, "-1"),
        ("dims", {"dims": ["t"]}, "['t']"),
        ("dims['x']", {"dims": {"x": ("lr",)}}, "'lr'"),
        ("config", {"config": {"f": object}}, "object"),
        ("config", {"config": [1, 2]}, "[1, 2]"),
        ("processes", {"processes": 0}, "0"),
        ("processes", {"processes": 1.5}, "1.5"),
        ("retry_failed", {"retry_failed": "yes"}, "'yes'"),
        ("progress", {"progress": "no"}, "'no'"),
        ("check_cell", {"check_cell": 0}, "0"),
        ("store", {"store": 3}, "3"),
        ("run_cell", {"run_cell": functools.partial(cell, 0.1)}, "lr"),
        ("run_cell", {"run_cell": lambda x: {"x": x}}, "'lr'")]:
    bad(name, token, lambda tmp, kw=kw: sweep(tmp, **kw), f"sweep({name}={token})")
bad("store", "afile", lambda tmp: sweep(tmp, store=_file(tmp)), "sweep store is a file")


def _readonly(tmp):
    d = tmp / "ro"
    d.mkdir()
    d.chmod(0o500)
    return d / "s.zarr"


if os.geteuid() != 0:  # root writes anywhere
    bad("store", "ro", lambda tmp: sweep(tmp, store=_readonly(tmp)), "sweep store read-only")

# --- Ensemble files ---------------------------------------------------------------------------
ENS = lsde.Ensemble(t=np.arange(3), theta=np.zeros((3, 2, 2)), loss=np.zeros((3, 2)),
                    diverged=np.zeros(2, bool), diverged_at=np.full(2, -1),
                    meta={"scheme": {"name": "GD", "step": 0.1}, "model": {"name": "Q"}})


def _saved(tmp, edit=None, raw=None):
    path = tmp / "ens.npz"
    if raw is not None:
        path.write_bytes(raw)
        return path
    ENS.save(path)
    if edit is not None:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        edit(arrays)
        np.savez(path, **arrays)
    return path


def _truncated(tmp):
    path = _saved(tmp)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _pickled(tmp):
    path = tmp / "ens.npz"
    np.savez(path, meta=np.array(json.dumps(ENS.meta)), t=np.array([{"a": 1}], dtype=object),
             theta=ENS.theta, loss=ENS.loss, diverged=ENS.diverged, diverged_at=ENS.diverged_at)
    return path


def _setitem(key, value):
    return lambda a: a.__setitem__(key, value)


for label, make, token, *kinds in [
        ("missing file", lambda tmp: tmp / "none.npz", "none.npz", (FileNotFoundError,)),
        ("truncated", _truncated, "ens.npz"),
        ("not a zip", lambda tmp: _saved(tmp, raw=b"garbage" * 10), "ens.npz"),
        ("foreign npz", lambda tmp: (np.savez(tmp / "ens.npz", a=np.ones(3)), tmp / "ens.npz")[1], "'meta'"),
        ("pickled data", _pickled, "t"),
        ("meta not JSON", lambda tmp: _saved(tmp, _setitem("meta", np.array("{oops"))), "meta"),
        ("theta 2-D", lambda tmp: _saved(tmp, _setitem("theta", np.zeros((3, 2)))), "theta"),
        ("loss shape", lambda tmp: _saved(tmp, _setitem("loss", np.zeros((2, 2)))), "loss"),
        ("t length", lambda tmp: _saved(tmp, _setitem("t", np.arange(4))), "t"),
        ("diverged shape", lambda tmp: _saved(tmp, _setitem("diverged", np.zeros(3, bool))), "diverged"),
        ("diverged_at dtype", lambda tmp: _saved(tmp, _setitem("diverged_at", np.zeros(2))), "diverged_at"),
        ("t dtype", lambda tmp: _saved(tmp, _setitem("t", np.zeros(3))), "t"),
        ("observable shape", lambda tmp: _saved(tmp, lambda a: a.update({"obs_t/s": np.arange(2),
                                                                          "obs_values/s": np.ones(3)})), "'s'"),
        ("single array", lambda tmp: (np.save(tmp / "ens.npy", np.ones(3)), tmp / "ens.npy")[1], "ens.npy")]:
    bad("path", token, lambda tmp, m=make: lsde.Ensemble.load(m(tmp)), f"Ensemble.load {label}",
        kinds=kinds[0] if kinds else CLEAR)
bad("path", "3", lambda tmp: lsde.Ensemble.load(3), "Ensemble.load(3)")
bad("path", "ens.npz", lambda tmp: (os.mkdir(tmp / "ens.npz"), ENS.save(tmp / "ens.npz")),
    "Ensemble.save onto a directory")
bad("meta", "array", lambda tmp: lsde.Ensemble(**{**{k: getattr(ENS, k) for k in
                                                    ("t", "theta", "loss", "diverged", "diverged_at")},
                                                 "meta": {"a": np.ones(2)}}).save(tmp / "e.npz"),
    "Ensemble.save meta with an array")


# --- the test ---------------------------------------------------------------------------------
def outcome(thunk):
    """``(exception or None, message)`` of one row, in a fresh directory."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            thunk(pathlib.Path(tmp))
        except Exception as exc:  # noqa: BLE001 - the survey records whatever is raised
            return exc, str(exc)
        finally:
            for root, dirs, _ in os.walk(tmp):
                for d in dirs:
                    os.chmod(os.path.join(root, d), 0o700)
    return None, "(no error)"


def clear(exc, message, argument, token, kinds=CLEAR):
    return isinstance(exc, kinds) and argument in message and token in message


@pytest.mark.parametrize("argument, token, thunk, kinds", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_clearly(argument, token, thunk, kinds):
    """The row raises ValueError/TypeError naming the argument and showing the value."""
    exc, message = outcome(thunk)
    assert exc is not None, "accepted silently"
    assert clear(exc, message, argument, token, kinds), f"{type(exc).__name__}: {message}"


def test_table_is_large_and_ids_unique():
    """The survey covers the public API (about 300 rows) and names each row once."""
    assert len(CASES) >= 300
    assert len({c[0] for c in CASES}) == len(CASES)


if __name__ == "__main__":
    failures = 0
    for label, argument, token, thunk, kinds in CASES:
        exc, message = outcome(thunk)
        ok = clear(exc, message, argument, token, kinds)
        failures += not ok
        kind = type(exc).__name__ if exc is not None else "-"
        print(f"{'ok ' if ok else 'BAD'} {label:55.55s} {kind:18.18s} {message[:150]!r}")
    print(f"{len(CASES)} inputs, {failures} without a clear error")
