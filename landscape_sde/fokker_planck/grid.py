"""Cell-centred rectangular grids for finite volumes."""
import dataclasses

import numpy as np

from .. import checks as _v

BOUNDARIES = ("reflecting", "periodic", "absorbing")
WALLS = ("reflecting", "absorbing")


@dataclasses.dataclass(frozen=True)
class Grid:
    """A box ``[lower, upper]`` in 1-3 dimensions cut into ``shape`` equal cells.

    Parameters
    ----------
    lower, upper : sequence of float
        Box corners, one entry per axis (``lower < upper``).
    shape : sequence of int
        Cells per axis (``>= 3``).
    boundary : str or sequence
        One entry for all axes, or one per axis. Each is ``"reflecting"`` (zero flux through
        the box face), ``"absorbing"`` (Dirichlet: zero density on the box face, mass that
        reaches it leaves the system; in backward solves the face is part of the target),
        ``"periodic"``, or a pair ``(lower, upper)`` of ``"reflecting"``/``"absorbing"`` for
        the two faces of the axis (e.g. ``[("reflecting", "absorbing")]`` in 1-D). A periodic
        axis has no faces, so it cannot be absorbing on one side.

    Cells are numbered in C order; ``centers()`` gives their midpoints as an array of shape
    ``(n_cells, dim)``. Densities on the grid are cell averages: ``p.sum() * cell_volume = 1``.
    """

    lower: tuple
    upper: tuple
    shape: tuple
    boundary: tuple = "reflecting"

    def __post_init__(self):
        lower = _v.finite_array("lower", self.lower, ndim=1)
        dim = lower.size
        if not 1 <= dim <= 3:
            raise ValueError(f"lower: expected 1 to 3 axes, got {dim}")
        upper = _v.finite_array("upper", self.upper, shape=(dim,))
        if np.any(upper <= lower):
            raise ValueError(f"upper: must exceed lower on every axis, got lower={lower.tolist()}, "
                             f"upper={upper.tolist()}")
        shape = tuple(_v.integer(f"shape[{i}]", s, low=3) for i, s in enumerate(np.atleast_1d(self.shape)))
        if len(shape) != dim:
            raise ValueError(f"shape: expected {dim} entries, got {self.shape!r}")
        bc = _boundaries(self.boundary, dim)
        object.__setattr__(self, "lower", tuple(lower.tolist()))
        object.__setattr__(self, "upper", tuple(upper.tolist()))
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "boundary", bc)

    @property
    def sides(self):
        """Per axis, the conditions ``(lower, upper)`` on its two box faces (``("periodic",
        "periodic")`` for a periodic axis)."""
        return tuple((b, b) if isinstance(b, str) else b for b in self.boundary)

    @property
    def absorbing(self):
        """``True`` if any box face is absorbing."""
        return any("absorbing" in s for s in self.sides)

    @property
    def dim(self):
        return len(self.shape)

    @property
    def n_cells(self):
        return int(np.prod(self.shape))

    @property
    def spacing(self):
        return tuple((u - lo) / n for lo, u, n in zip(self.lower, self.upper, self.shape))

    @property
    def cell_volume(self):
        return float(np.prod(self.spacing))

    def axes(self):
        """Cell-centre coordinates along each axis."""
        return [lo + (np.arange(n) + 0.5) * h for lo, n, h in zip(self.lower, self.shape, self.spacing)]

    def centers(self):
        """Cell centres, shape ``(n_cells, dim)``, C order."""
        mesh = np.meshgrid(*self.axes(), indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def face_centers(self, axis):
        """Midpoints of the faces between cell ``k`` and cell ``k + e_axis`` for every cell
        ``k`` (for the last cell of a reflecting axis: the box face), shape ``(n_cells, dim)``."""
        pts = self.centers().copy()
        pts[:, axis] += 0.5 * self.spacing[axis]
        return pts

    def integrate(self, values):
        """``∫ f dθ`` for cell averages ``values`` (shape ``(n_cells,)`` or the grid shape)."""
        return float(np.sum(values) * self.cell_volume)

    def marginal(self, p, axis):
        """Marginal density along ``axis`` (integrating out the others)."""
        p = np.asarray(p).reshape(self.shape)
        others = tuple(a for a in range(self.dim) if a != axis)
        h = np.prod([self.spacing[a] for a in others]) if others else 1.0
        return p.sum(axis=others) * h


def _boundaries(value, dim):
    """Normalise ``boundary`` to one entry per axis: a string when both faces agree, else a
    ``(lower, upper)`` pair of wall conditions."""
    allowed = (f"one of {BOUNDARIES} or a (lower, upper) pair of {WALLS}, for all axes or one "
               f"per axis ({dim})")
    entries = (value,) * dim if isinstance(value, str) else tuple(value)
    if len(entries) != dim:
        hint = (" (per-side conditions of the one axis go in a pair: "
                f"[{tuple(entries)!r}])" if dim == 1 and len(entries) == 2 else "")
        raise ValueError(f"boundary: expected {allowed}, got {value!r}{hint}")
    out = []
    for axis, b in enumerate(entries):
        if isinstance(b, str):
            if b not in BOUNDARIES:
                raise ValueError(f"boundary: axis {axis} has {b!r}; expected {allowed}")
            out.append(b)
            continue
        pair = tuple(b)
        if "periodic" in pair:
            raise ValueError(f"boundary: axis {axis} has {b!r}; a periodic axis has no box faces, "
                             f"so it cannot be combined with a wall (absorbing or reflecting) on "
                             f"one side: give 'periodic' alone, or a pair of {WALLS}")
        if len(pair) != 2 or any(not isinstance(w, str) or w not in WALLS for w in pair):
            raise ValueError(f"boundary: axis {axis} has {b!r}; a pair must be (lower, upper) "
                             f"with each of {WALLS}")
        out.append(pair[0] if pair[0] == pair[1] else pair)
    return tuple(out)
