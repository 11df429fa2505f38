"""Target sets for first passages recorded inside the compiled loop.

``simulate(..., stream=Streaming(target=..., stop=...))`` records, per replica, the first
step ``k >= 0`` at which ``θ_k`` lies in the target set (checked after every step, and at
step 0), in ``ensemble.stats["first_passage"]`` (−1: never). The first-passage *time* in the
SDE's units is ``k · step`` (``step`` = the scheme's ``lr`` or ``dt``); a discrete chain
checked once per step overshoots a continuous boundary, a bias of order ``√step`` near a
reflecting-free boundary (Siegmund's correction) that vanishes as ``step → 0``.

Three kinds of set, all open (strict inequalities):

- :class:`Level` — a one-sided level on one coordinate, ``θ_j > c`` or ``θ_j < c``;
- :class:`Ball` — ``‖θ − p‖₂ < r``;
- :class:`Predicate` — any set given by a numba-compiled function ``θ -> bool``, bound
  into the generated loop as model kernels are (:mod:`landscape_sde._kernels.codegen`), so it
  must be defined at the top level of an importable module.

``Streaming(stop=True)`` stops each replica at its arrival: its later saves, and its final
state, hold the arrival state (the stopped process ``θ_{min(k, τ)}``, so streaming moments
count it there), it is not advanced further, and it is *not* flagged as diverged
(``ensemble.diverged`` stays False). Freezing rather than NaN keeps the final state usable
(where each replica arrived) and keeps observers and segment hooks on finite values.
"""
import dataclasses
import sys

import numpy as np

from . import checks as _v
from ._kernels.layout import SET_ABOVE, SET_BALL, SET_BELOW, SET_PREDICATE, Target

__all__ = ["Level", "Ball", "Predicate"]


@dataclasses.dataclass(frozen=True)
class Level:
    """The half-space ``θ[coord] > value`` (``side="above"``) or ``< value`` (``"below"``).

    Parameters
    ----------
    coord : int
        The coordinate ``j`` (``0 <= j < dim``).
    value : float
        The level ``c``, in the units of ``θ[j]``.
    side : {"above", "below"}, default "above"
        Which side of the level is the set (strict inequality).
    """

    coord: int
    value: float
    side: str = "above"

    def __post_init__(self):
        object.__setattr__(self, "coord", _v.integer("coord", self.coord, low=0))
        object.__setattr__(self, "value", _v.real("value", self.value))
        if self.side not in ("above", "below"):
            raise ValueError(f"side: expected 'above' or 'below', got {self.side!r}")

    def record(self, dim, stop):
        if self.coord >= dim:
            raise ValueError(f"target: Level coord must be < dim = {dim}, got {self.coord}")
        return Target(SET_ABOVE if self.side == "above" else SET_BELOW, bool(stop),
                      self.coord, self.value, np.zeros(0), 0.0)

    def describe(self):
        return {"set": "Level", "coord": self.coord, "value": self.value, "side": self.side}

    def contains(self, points):
        """NumPy reference: membership of points ``(..., dim)``."""
        x = np.asarray(points)[..., self.coord]
        return x > self.value if self.side == "above" else x < self.value


@dataclasses.dataclass(frozen=True, eq=False)
class Ball:
    """The open ball ``‖θ − center‖₂ < radius``.

    Parameters
    ----------
    center : array_like, shape (dim,)
        The centre ``p`` (finite).
    radius : float
        The radius ``r > 0`` (Euclidean norm, units of ``θ``).
    """

    center: np.ndarray
    radius: float

    def __post_init__(self):
        object.__setattr__(self, "center", _v.finite_array("center", self.center, ndim=1))
        r = _v.real("radius", self.radius)
        if not r > 0:
            raise ValueError(f"radius: the ball must not be empty; expected radius > 0, got {r!r}")
        object.__setattr__(self, "radius", r)

    def record(self, dim, stop):
        if self.center.shape != (dim,):
            raise ValueError(f"target: Ball center must have shape ({dim},) for a model of "
                             f"dim {dim}, got {self.center.shape}")
        return Target(SET_BALL, bool(stop), 0, 0.0, np.ascontiguousarray(self.center, np.float64),
                      self.radius ** 2)

    def describe(self):
        return {"set": "Ball", "center": self.center.tolist(), "radius": self.radius}

    def contains(self, points):
        d2 = ((np.asarray(points) - self.center) ** 2).sum(axis=-1)
        return d2 < self.radius ** 2


@dataclasses.dataclass(frozen=True)
class Predicate:
    """The set ``{θ : func(θ)}`` for a numba-compiled ``func(theta) -> bool`` (``theta`` a
    float64 vector of length ``dim``; no other arguments). It is checked here once on
    ``θ = 0`` (compiling it), and must be a top-level name of an importable module.

    Parameters
    ----------
    func : numba dispatcher
        ``func(theta) -> bool``, ``True`` inside the set.
    """

    func: object

    def __post_init__(self):
        f = self.func
        if not (callable(f) and hasattr(f, "py_func") and hasattr(f, "signatures")):
            raise TypeError(f"func: expected a numba-jitted function theta -> bool "
                            f"(decorate it with landscape_sde.jit), got {f!r}")
        py = f.py_func
        mod = sys.modules.get(py.__module__)
        if mod is None or getattr(mod, py.__name__, None) is not f or py.__module__ == "__main__":
            raise ValueError(f"func: {py.__qualname__!r} must be defined at the top level of an "
                             f"importable module (it is bound into generated code by name, as "
                             f"model kernels are), got one in {py.__module__!r}")

    def record(self, dim, stop):
        try:
            value = self.func(np.zeros(dim))
        except Exception as exc:
            raise TypeError(f"func: calling it on a float64 vector of length {dim} failed: "
                            f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"func: must return a bool, returned {type(value).__name__} "
                            f"{value!r} for theta = 0")
        return Target(SET_PREDICATE, bool(stop), 0, 0.0, np.zeros(0), 0.0)

    def describe(self):
        py = self.func.py_func
        return {"set": "Predicate", "func": f"{py.__module__}.{py.__qualname__}"}

    def contains(self, points):
        pts = np.asarray(points, dtype=np.float64)
        flat = pts.reshape(-1, pts.shape[-1])
        return np.array([bool(self.func(np.ascontiguousarray(p))) for p in flat]).reshape(pts.shape[:-1])


def target_record(target, dim, stop):
    """The loop's :class:`~landscape_sde._kernels.layout.Target` for a set (checked against
    ``dim``) or ``None`` (no set)."""
    if target is None:
        return Target.none()
    return target.record(dim, stop)


def predicate_of(target):
    """The compiled predicate to bind into the driver, or ``None``."""
    return target.func if isinstance(target, Predicate) else None
