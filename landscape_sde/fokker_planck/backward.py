"""Backward (Kolmogorov) solves: mean first-passage times, committors and transition rates.

They use the adjoint of the same discrete operator that evolves densities. With ``A`` the
forward operator (``dw/dt = A w`` for the cell probabilities ``w = p · cell_volume``), the
grid is a continuous-time jump process whose generator (acting on functions of the cell) is
``K = Aᵀ``: ``K_xy = A_yx`` is the rate of jumps from cell ``x`` to cell ``y``, and the
zero column sums of ``A`` are ``K 1 = 0``. Absorbing box faces appear in ``A`` as losses on
the diagonal, i.e. as jumps to a cemetery outside the grid, so in ``K`` they act as the
Dirichlet condition "0 on the face".

- Mean first-passage time into a set ``B`` (or through an absorbing face):
  ``(K τ)_x = −1`` off ``B``, ``τ = 0`` on ``B``.
- Committor from ``A`` to ``B``: ``(K q)_x = 0`` off ``A ∪ B``, ``q = 0`` on ``A``,
  ``q = 1`` on ``B``; the probability to reach ``B`` before ``A`` (and before an absorbing
  face, which counts as failure).
- Transition rate (transition path theory for jump processes: Metzner, Schütte &
  Vanden-Eijnden, Multiscale Model. Simul. 7, 1192, 2009): ``k_AB = ν_AB / ρ_A`` with the
  reactive flux ``ν_AB = Σ_{x∈A} π_x (K q⁺)_x`` (the rate of transitions that leave ``A``
  and reach ``B`` before returning) and ``ρ_A = Σ_x π_x q⁻_x``, the probability of having
  come from ``A`` more recently than from ``B`` (``q⁻`` the committor of the time-reversed
  process; ``1 − q⁺`` when the operator is reversible, else from ``A (π q⁻) = 0`` off
  ``A ∪ B``, which needs no division by ``π``). In the Kramers limit ``k_AB`` tends to the
  escape rate from ``A``, and ``1/k_AB`` to the mean first-passage time from the bottom of
  ``A`` to ``B``.

Sets are given on the cells: a boolean mask of the grid's shape (or ``n_cells``), or a
callable of points ``(M, dim)`` evaluated at the cell centres. Every set is checked before
any work (non-empty, not the whole grid, disjoint where two are given).
"""
import warnings

import numpy as np

from .. import checks as _v

__all__ = ["cell_set", "mfpt", "committor", "transition_rate"]


def cell_set(grid, name, spec):
    """The cells of a set, as a boolean array of shape ``(n_cells,)``.

    Parameters
    ----------
    grid : Grid
    name : str
        Argument name for error messages.
    spec : array_like of bool or callable
        A mask of shape ``grid.shape`` or ``(n_cells,)``, or a function of points
        ``(M, dim) -> (M,)`` booleans, evaluated at the cell centres.

    Raises
    ------
    TypeError, ValueError
        Naming ``name``: not booleans, wrong shape, no cell in the set (empty, or outside the
        box), or every cell in the set (nothing left to solve for).
    """
    if callable(spec):
        values = np.asarray(spec(grid.centers()))
        what = f"{name}(points) at the {grid.n_cells} cell centres"
        if values.shape != (grid.n_cells,):
            raise ValueError(f"{name}: expected the function to return {grid.n_cells} booleans "
                             f"(one per cell centre), got shape {values.shape}")
    else:
        values = np.asarray(spec)
        what = f"the mask {name}"
        if values.shape not in (grid.shape, (grid.n_cells,)):
            raise ValueError(f"{name}: expected a boolean mask of shape {grid.shape} or "
                             f"({grid.n_cells},), or a function of points, got "
                             f"{_v.short_repr(spec)} of shape {values.shape}")
    if values.dtype != np.bool_:
        raise TypeError(f"{name}: expected booleans (a mask, or a function returning booleans), "
                        f"got dtype {values.dtype}: {_v.short_repr(values)}")
    mask = values.ravel()
    count = int(mask.sum())
    box = f"[{list(grid.lower)}, {list(grid.upper)}]"
    if count == 0:
        raise ValueError(f"{name}: the set contains no cell: {what} is False everywhere (an "
                         f"empty set, or one that lies outside the box {box} or between cell "
                         "centres; enlarge it to contain at least one cell centre)")
    if count == grid.n_cells:
        raise ValueError(f"{name}: the set contains every one of the {count} cells, so there is "
                         "nothing outside it to solve for")
    return mask


def _disjoint(grid, a, b, name_a, name_b):
    both = int((a & b).sum())
    if both:
        raise ValueError(f"{name_a}/{name_b}: the sets overlap in {both} cells (first at "
                         f"{grid.centers()[np.argmax(a & b)].tolist()}); they must be disjoint")
    if not np.any(~(a | b)):
        raise ValueError(f"{name_a}/{name_b}: together the sets contain every cell, so there is "
                         "nothing between them to solve for")


def _restricted_lu(fp, free):
    from .solver import _factorize
    A = fp.operator.tocsr()
    return _factorize(A[free][:, free]), A


def mfpt(fp, target=None):
    """Mean first-passage time into ``target`` (or through an absorbing box face), from every
    cell. See :meth:`FokkerPlanck.mfpt`."""
    grid = fp.grid
    if target is None:
        if not grid.absorbing:
            raise ValueError(f"target: required unless the grid has an absorbing face (boundary "
                             f"{grid.boundary!r} has none, so nothing would ever be reached)")
        mask = np.zeros(grid.n_cells, dtype=bool)
    else:
        mask = cell_set(grid, "target", target)
    free = ~mask
    lu, _ = _restricted_lu(fp, free)
    tau = np.zeros(grid.n_cells)
    tau[free] = lu.solve(-np.ones(int(free.sum())), trans="T")  # (Aᵀ)_UU τ = −1
    # A backward-stable solve is exact for an operator perturbed by ~eps·|A_kk| per cell: a
    # spurious exit rate of that order, which competes with the true one 1/τ.
    floor = np.finfo(np.float64).eps * float(np.abs(fp.operator.diagonal()).max()) * tau.max()
    if floor > 1e-3:
        warnings.warn(f"mfpt(): the largest time {tau.max():.3g} times the round-off rate "
                      f"eps·max|A_kk| is {floor:.1e}: relative errors up to that size (metastable "
                      "regimes far beyond barrier/T ~ 20 on fine grids); coarsen the grid or raise "
                      "the temperature", RuntimeWarning, stacklevel=3)
    return tau.reshape(grid.shape)


def _committors(fp, source, target):
    grid = fp.grid
    a = cell_set(grid, "source", source)
    b = cell_set(grid, "target", target)
    _disjoint(grid, a, b, "source", "target")
    free = ~(a | b)
    lu, A = _restricted_lu(fp, free)
    q = b.astype(np.float64)
    q[free] = lu.solve(-(A[b][:, free].T @ np.ones(int(b.sum()))), trans="T")  # (Aᵀ)_UB 1
    return q, a, b, free, lu, A


def committor(fp, source, target):
    """Probability of reaching ``target`` before ``source``. See :meth:`FokkerPlanck.committor`."""
    return _committors(fp, source, target)[0].reshape(fp.grid.shape)


def transition_rate(fp, source, target):
    """``k_AB = ν_AB / ρ_A`` (module docstring). See :meth:`FokkerPlanck.escape_rate`."""
    grid = fp.grid
    if grid.absorbing:
        raise ValueError(f"escape_rate: needs the stationary density, and a grid with absorbing "
                         f"faces (boundary {grid.boundary!r}) has none; use reflecting or periodic "
                         "axes (or mfpt, which absorbing faces do not disturb)")
    q, a, b, free, lu, A = _committors(fp, source, target)
    w = fp.stationary().ravel() * grid.cell_volume
    nu = float(w[a] @ (A.T @ q)[a])
    if fp.reversible:
        rho = float(w @ (1.0 - q))
    else:  # m = π q⁻ solves A m = 0 off A ∪ B, m = π on A, 0 on B
        m = np.zeros(grid.n_cells)
        m[a] = w[a]
        m[free] = lu.solve(-(A[free][:, a] @ w[a]))
        rho = float(m.sum())
    return nu / rho
