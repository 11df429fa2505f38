"""The Fokker-Planck solver: stationary density, time evolution, relaxation rates.

Low temperature (metastable states, densities spanning hundreds of orders of magnitude) is
handled by recognising *reversible* operators: when there are no cross-diffusion terms and the
zero-flux ratios of neighbouring cells are consistent around every cycle of the grid
(Kolmogorov's criterion, checked numerically on the discrete operator, not assumed). In
practice that is ``potential=`` with a constant isotropic diffusion (a constant diagonal one
only when ``D⁻¹∇L`` is a gradient, e.g. a potential separable along the axes), or any
positive diffusion in 1-D on a reflecting axis. Then the stationary density is the exact
discrete Boltzmann density built in log space, and the spectrum comes from the
detailed-balance-symmetrised operator. See ``docs/fokker_planck.md``.
"""
import warnings

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla

from .. import checks as _v
from .grid import Grid
from .operator import divergence_matrices, flux_matrices, wall_losses, zero_flux_log_ratios

#: Densities whose minimum is below ``-NEGATIVE_TOL`` times their maximum trigger a warning
#: (round-off negatives of a correct solve are ~1e-16 of the maximum).
NEGATIVE_TOL = 1e-10
_EPS = np.finfo(np.float64).eps

__all__ = ["FokkerPlanck"]


def _factorize(A):
    """Sparse LU for the grid operators here: a symmetric-pattern minimum-degree ordering
    (fill like nested dissection on a grid) and diagonal pivots, which these column-diagonally
    dominant matrices admit (the threshold keeps pivoting available if that ever fails).
    2.6x faster than SuperLU's defaults at 512²."""
    return spla.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.1,
                     options={"SymmetricMode": True})


def _at(values_or_callable, points, shape_tail, name, tails):
    """Evaluate a coefficient given as a scalar, a callable of points or an array, checking
    real, finite values of shape ``(M, *tail)`` for one of the allowed ``tails``."""
    given = values_or_callable(points) if callable(values_or_callable) else values_or_callable
    out = _v.real_array(name, given)
    if out.ndim == 0:
        out = np.broadcast_to(out, (points.shape[0],) + shape_tail)
    if out.shape[:1] != points.shape[:1] or out.shape[1:] not in tails:
        want = " or ".join(str((points.shape[0],) + t) for t in tails)
        source = "the function returned" if callable(values_or_callable) else "got"
        raise ValueError(f"{name}: expected values of shape {want} (one per point), {source} "
                         f"shape {out.shape}")
    if not np.all(np.isfinite(out)):
        m = int(np.argwhere(~np.isfinite(out.reshape(out.shape[0], -1)))[0, 0])
        raise ValueError(f"{name}: values must be finite on the grid, got {out[m].tolist()} "
                         f"at θ = {points[m].tolist()}")
    return out


def _check_diffusion(d, points):
    """``D`` (``(M, dim, dim)``) must be symmetric positive semi-definite at every point:
    otherwise the equation is ill-posed and the density it gives goes negative. (The
    operator also needs ``D_ii > 0`` on the faces, checked where it is assembled.)"""
    m = d.shape[0]
    where = lambda k: f"D = {d[k].tolist()} at θ = {points[k].tolist()}"  # noqa: E731
    diag = np.einsum("mii->mi", d)
    if np.any(diag < 0):
        k = int(np.argwhere(diag < 0)[0, 0])
        raise ValueError(f"diffusion: expected a positive semi-definite tensor (D_ii >= 0) at "
                         f"every point, got {where(k)}")
    off = ~np.eye(d.shape[1], dtype=bool)
    if not np.any(d[:, off]):
        return
    scale = np.abs(d).reshape(m, -1).max(axis=1)
    asym = np.abs(d - d.transpose(0, 2, 1)).reshape(m, -1).max(axis=1) > 1e-12 * scale
    if np.any(asym):
        raise ValueError(f"diffusion: expected a symmetric tensor, got "
                         f"{where(int(np.argmax(asym)))}")
    low = np.linalg.eigvalsh(d)[:, 0]
    neg = low < -1e-12 * scale
    if np.any(neg):
        k = int(np.argmax(neg))
        raise ValueError(f"diffusion: expected a positive semi-definite tensor at every point, "
                         f"got {where(k)} (smallest eigenvalue {low[k]:.3g})")


def _schedule(name, value, step_times, low):
    """Values of a time-dependent coefficient at every step time, checked before any work:
    finite and ``>= low`` (``> 0`` if ``low`` is None)."""
    if callable(value):
        vals = np.array([value(float(t)) for t in step_times], dtype=np.float64)
    elif value is None:
        vals = np.ones(step_times.size)
    else:
        vals = np.full(step_times.size, _v.real(name, value))
    bad = ~np.isfinite(vals) | ((vals < low) if low is not None else (vals <= 0))
    if np.any(bad):
        k = int(np.argmax(bad))
        allowed = f">= {low:g}" if low is not None else "> 0"
        raise ValueError(f"{name}: expected finite values {allowed} at every step time, got "
                         f"{float(vals[k])!r} at t = {step_times[k]:g}")
    return vals


def _tensor(d, dim):
    """Diffusion values of shape (M,), (M, dim) (diagonal) or (M, dim, dim) -> (M, dim, dim)."""
    if d.ndim == 1:
        return d[:, None, None] * np.eye(dim)
    if d.ndim == 2:
        return d[:, :, None] * np.eye(dim)
    return d


class FokkerPlanck:
    """Itô Fokker-Planck equation ``∂p/∂t = −∇·J``, ``J = a p − ∇·(D p)``, on a grid.

    Parameters
    ----------
    grid : Grid
    diffusion : float, callable or ndarray
        ``D(θ)``: a constant ``T`` (``D = T I``); or a callable of points ``(M, dim)`` returning
        ``(M,)`` (isotropic), ``(M, dim)`` (diagonal) or ``(M, dim, dim)`` (full) values,
        evaluated at cell and face centres; or such values at the cell centres only (faces
        then take the mean of their two cells).
    potential : callable or ndarray, optional
        ``L(θ)`` at cell centres (callable of points, or an array of ``n_cells`` values): the
        drift is ``a = −∇L``, discretised by potential differences.
    drift : callable, optional
        A general drift ``a(θ)`` (callable of points returning ``(M, dim)``), evaluated at face
        centres; for non-gradient dynamics. Exactly one of ``potential`` and ``drift``.

    Attributes
    ----------
    operator : scipy.sparse.csr_matrix
        ``A`` with ``dp/dt = A p`` for cell averages ``p``.
    """

    def __init__(self, grid, diffusion, *, potential=None, drift=None):
        if (potential is None) == (drift is None):
            raise ValueError(f"potential/drift: give exactly one of them, got potential="
                             f"{_v.short_repr(potential)} and drift={_v.short_repr(drift)}")
        self.grid = _v.instance("grid", grid, Grid, "a landscape_sde.fokker_planck.Grid")
        if drift is not None and not callable(drift):
            raise TypeError(f"drift: expected a function of points (M, dim) -> (M, dim), got "
                            f"{_v.short_repr(drift)}")
        if not callable(diffusion) and np.ndim(diffusion) == 0:
            _v.positive("diffusion", diffusion)
        centers = grid.centers()
        faces = [grid.face_centers(i) for i in range(grid.dim)]
        tails = ((), (grid.dim,), (grid.dim, grid.dim))
        d_c = _tensor(_at(diffusion, centers, (), "diffusion", tails), grid.dim)
        _check_diffusion(d_c, centers)
        if callable(diffusion) or np.ndim(diffusion) == 0:
            d_f = [_tensor(_at(diffusion, f, (), "diffusion", tails), grid.dim) for f in faces]
            for d, f in zip(d_f, faces):
                _check_diffusion(d, f)
        else:  # values at cell centres only: faces get the mean of their two cells
            d_f = []
            for i in range(grid.dim):
                nxt = np.roll(d_c.reshape(grid.shape + d_c.shape[1:]), -1, axis=i)
                d_f.append(0.5 * (d_c + nxt.reshape(d_c.shape)))
        h = grid.spacing
        if potential is not None:
            self.potential = _at(potential, centers, (), "potential", ((),)).reshape(-1)
            drift_h, wall_h = [], []
            for i in range(grid.dim):
                L = self.potential.reshape(grid.shape)
                drift_h.append(-(np.roll(L, -1, axis=i) - L).ravel())
                # a_i h_i / 2 on the box faces: half the potential difference of the last two
                # cells (one-sided, used only beside absorbing faces)
                lo = -(np.take(L, [1], axis=i) - np.take(L, [0], axis=i)) / 2
                hi = -(np.take(L, [-1], axis=i) - np.take(L, [-2], axis=i)) / 2
                wall_h.append(tuple(np.broadcast_to(v, grid.shape).ravel() for v in (lo, hi)))
        else:
            self.potential = None
            drift_h = [_at(drift, f, (grid.dim,), "drift", ((grid.dim,),))[:, i] * h[i]
                       for i, f in enumerate(faces)]
            wall_h = []
            for i in range(grid.dim):
                pts = centers.copy()
                pts[:, i] -= 0.5 * h[i]
                lo = _at(drift, pts, (grid.dim,), "drift", ((grid.dim,),))[:, i] * h[i] / 2
                wall_h.append((lo, drift_h[i] / 2))  # the upper face of the last cell is the box face
        self._coefficients = (d_c, d_f, drift_h, wall_h)
        self.operator, self._flux = self._assemble()
        off = ~np.eye(grid.dim, dtype=bool)
        self._cross = bool(np.any(d_c[:, off]) or any(np.any(d[:, off]) for d in d_f))
        diag = np.sqrt(np.abs(np.einsum("mii->mi", d_c)))
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.abs(d_c) / (diag[:, :, None] * diag[:, None, :])
        self._max_correlation = float(np.nanmax(np.where(off, corr, 0.0))) if self._cross else 0.0
        self._log_pi = self._detailed_balance(zero_flux_log_ratios(grid, d_c, d_f, drift_h))

    def _assemble(self, drift_scale=1.0, diffusion_scale=1.0):
        """The operator for the drift times ``drift_scale`` and ``D`` times ``diffusion_scale``,
        and its face-flux matrices per axis."""
        d_c, d_f, drift_h, wall_h = self._coefficients
        sa, sd = float(drift_scale), float(diffusion_scale)
        d_c, d_f = d_c * sd, [d * sd for d in d_f]
        flux = flux_matrices(self.grid, d_c, d_f, [a * sa for a in drift_h])
        A = sum(g @ f for g, f in zip(divergence_matrices(self.grid), flux))
        if self.grid.absorbing:
            A = A - sps.diags(wall_losses(self.grid, d_c, [(lo * sa, hi * sa) for lo, hi in wall_h]))
        return A.tocsr(), flux

    def _detailed_balance(self, ratios):
        """``log π`` (up to a constant, max 0) if the operator satisfies detailed balance with
        respect to some ``π``, else ``None``.

        Without cross terms the operator is the generator of a nearest-neighbour jump process.
        ``log π`` is integrated from the zero-flux log ratios along a comb spanning tree (axis 0
        along the first row, then axis 1 from every point of it, ...); detailed balance holds iff
        every other face is then consistent too (Kolmogorov's cycle criterion), checked to a
        tolerance of the round-off of those sums.
        """
        if self._cross:
            return None
        grid, dim = self.grid, self.grid.dim
        if any(not np.all(np.isfinite(lr[face])) for lr, face in ratios):
            return None
        phi = np.zeros(grid.shape)
        for i, (lr, _) in enumerate(ratios):
            lr = lr.reshape(grid.shape)
            branch = lr[(slice(None),) * (i + 1) + (slice(0, 1),) * (dim - i - 1)]
            steps = np.take(branch, np.arange(grid.shape[i] - 1), axis=i)
            zero = np.zeros_like(np.take(branch, [0], axis=i))
            phi = phi + np.cumsum(np.concatenate([zero, steps], axis=i), axis=i)
        phi = phi.ravel()
        tol = 64 * _EPS * max(grid.shape) * max(1.0, float(np.abs(phi).max()))
        for i, (lr, face) in enumerate(ratios):
            kp = np.roll(np.arange(grid.n_cells).reshape(grid.shape), -1, axis=i).ravel()
            resid = (phi[kp] - phi - lr)[face]
            if resid.size and np.abs(resid).max() > tol:
                return None
        return phi - phi.max()

    @property
    def reversible(self):
        """``True`` if the discrete operator satisfies detailed balance (then ``stationary``
        is the exact discrete Boltzmann density, computed in log space, and ``relaxation_rates``
        uses the symmetrised operator)."""
        return self._log_pi is not None

    # --- construction from the engine's objects ---------------------------------------------
    @classmethod
    def from_model(cls, model, scheme, grid):
        """Drift ``−∇U`` (``U = scheme.drift_potential``: ``L``, or ``L + (η/4)‖∇L‖²`` for
        the second-order SME) and the diffusion of ``scheme`` on ``model``, on ``grid``:
        ``Langevin``/``LeimkuhlerMatthews`` give ``T I``; ``SME`` gives ``(η/2) Σ_b(θ)`` from
        the model's per-sample gradients; ``AnisotropicLangevin`` the model's own ``D(θ)``."""
        from ..fields import diffusion_of
        _v.model(model)
        _v.scheme(scheme)
        _v.instance("grid", grid, Grid, "a landscape_sde.fokker_planck.Grid")
        if grid.dim != model.dim:
            raise ValueError(f"grid: dimension {grid.dim} does not match the model's {model.dim}")
        return cls(grid, lambda pts: diffusion_of(model, scheme, pts),
                   potential=scheme.drift_potential(model, grid.centers()))

    # --- solutions ------------------------------------------------------------------------
    def _cells(self, name, p):
        """A density on the grid as ``n_cells`` finite float64 values (any shape)."""
        arr = _v.finite_array(name, p).ravel()
        if arr.size != self.grid.n_cells:
            raise ValueError(f"{name}: expected {self.grid.n_cells} cell values (grid shape "
                             f"{self.grid.shape}), got {arr.size} values of shape {np.shape(p)}")
        return arr

    def mass(self, p):
        """``∫ p dθ``."""
        return self.grid.integrate(self._cells("p", p))

    def flux(self, p):
        """Face fluxes per axis, each of the grid's shape (entry ``k``: the face between
        cell ``k`` and ``k + e_i``)."""
        p = self._cells("p", p)
        return [(f @ p).reshape(self.grid.shape) for f in self._flux]

    def current(self, p):
        """The probability current ``J = a p − ∇·(D p)`` at the cell centres, shape
        ``(*grid.shape, dim)``: per axis, the mean of the fluxes through the cell's two faces
        (second order; a box face carries zero flux, also beside an absorbing face, where the
        current is then underestimated in the outermost cells)."""
        out = []
        for i, j in enumerate(self.flux(p)):
            lower = np.roll(j, 1, axis=i)
            if self.grid.sides[i][0] != "periodic":
                lower[(slice(None),) * i + (0,)] = 0.0
            out.append(0.5 * (j + lower))
        return np.stack(out, axis=-1)

    def entropy_production(self, p=None):
        """Entropy production rate ``σ = ∫ Jᵀ D⁻¹ J / p dθ`` of a density (default: the
        stationary one), in units of inverse SDE time (``k_B = 1``).

        ``σ ≥ 0``, and for a stationary density ``σ = 0`` iff detailed balance holds (the
        stationary current vanishes); for a non-equilibrium steady state it is the rate at which
        the process produces entropy in its environment. Evaluated by the midpoint rule with
        :meth:`current` and ``D`` at the cell centres (second order where the density is
        resolved). For the Ornstein-Uhlenbeck process ``dθ = −Bθ dt + √(2D) dW`` the value is
        ``tr(Bᵀ D⁻¹ B S) − tr B`` with ``BS + SBᵀ = 2D`` (``analysis.stationary``).

        Parameters
        ----------
        p : array_like, optional
            Cell averages (``n_cells`` values); cells with ``p <= 0`` are skipped.

        Returns
        -------
        float
        """
        p = (self.stationary() if p is None else np.asarray(p, dtype=np.float64)).ravel()
        J = self.current(p).reshape(-1, self.grid.dim)
        d = self._coefficients[0]
        ok = p > 0
        x = np.linalg.solve(d[ok], J[ok][:, :, None])[:, :, 0]
        return float(np.sum(np.einsum("mi,mi->m", J[ok], x) / p[ok]) * self.grid.cell_volume)

    def report(self, p):
        """Diagnostics of a density ``p`` (cell averages).

        Returns
        -------
        dict
            ``mass_error``: ``|∫p − 1|``; ``min_density``: the smallest cell value;
            ``min_relative``: that divided by the largest (``< 0`` flags a loss of positivity;
            round-off gives ~1e-16); ``positive``: ``min_relative >= −NEGATIVE_TOL``
            (``NEGATIVE_TOL = 1e-10``); ``max_flux``: the largest face flux (zero for a
            stationary density of a reversible operator); ``negative_couplings``: the number of
            negative off-diagonal operator entries (0 means an M-matrix, whose evolution keeps
            densities positive; non-zero comes from cross-diffusion the stencil cannot keep
            monotone on this grid).
        """
        p = np.asarray(p, dtype=np.float64).ravel()
        rel = self._min_relative(p)
        return {"mass_error": abs(self.mass(p) - 1.0), "min_density": float(p.min()),
                "min_relative": rel, "positive": bool(rel >= -NEGATIVE_TOL),
                "max_flux": max(float(np.abs(j).max()) for j in self.flux(p)),
                "negative_couplings": self._negative_couplings()}

    @staticmethod
    def _min_relative(p):
        top = float(np.max(p))
        return float(np.min(p)) / top if top > 0 else -np.inf

    def _negative_couplings(self):
        """Number of negative off-diagonal entries of the operator (beyond round-off)."""
        if "_n_negative" not in self.__dict__:
            A = self.operator.tocoo()
            scale = float(np.abs(A.diagonal()).max())
            bad = (A.row != A.col) & (A.data < -1e-14 * scale)
            self._n_negative = int(bad.sum())
        return self._n_negative

    def _positivity_cause(self):
        n = self._negative_couplings()
        if n:
            return (f"the operator has {n} negative off-diagonal couplings (it is not an M-matrix): "
                    "the cross-diffusion stencil is monotone only while |D_ij| <= D_jj h_i/h_j "
                    "for both orderings of each pair and the Péclet numbers are small, a margin "
                    "that vanishes as the correlation |D_ij|/sqrt(D_ii D_jj) (here up to "
                    f"{self._max_correlation:.3g}) approaches 1; remedies: rotate coordinates to "
                    "the principal axes of D (a diagonal D has no cross terms), choose spacings "
                    "with h_i/h_j = sqrt(D_ii/D_jj), refine the grid")
        return None

    # --- backward (Kolmogorov) solves ----------------------------------------------------
    def mfpt(self, target=None):
        """Mean first-passage time into ``target`` from every cell.

        Solves the backward equation with the adjoint of :attr:`operator`, ``(Aᵀ τ)_x = −1``
        off the target and ``τ = 0`` on it, by sparse LU (see
        :mod:`landscape_sde.fokker_planck.backward`). Absorbing box faces are part of the
        target: ``τ`` is the mean time until the process enters the target *or* leaves
        through an absorbing face.

        Parameters
        ----------
        target : array_like of bool or callable, optional
            Cells of the target set: a boolean mask of shape ``grid.shape`` (or ``n_cells``)
            or a function of points ``(M, dim)`` returning booleans, evaluated at the cell
            centres. Optional only if the grid has an absorbing face.

        Returns
        -------
        ndarray, shape ``grid.shape``
            ``τ`` in units of the SDE's time (0 on the target). The target's boundary is at
            the centres of its outermost cells: compare with a continuum first-passage time to
            those centres.
        """
        from .backward import mfpt
        return mfpt(self, target)

    def committor(self, source, target):
        """Forward committor: the probability, from each cell, of entering ``target`` before
        ``source``.

        Solves ``(Aᵀ q)_x = 0`` off both sets with ``q = 0`` on ``source`` and ``q = 1`` on
        ``target``. Leaving through an absorbing box face counts as not reaching the target.

        Parameters
        ----------
        source, target : array_like of bool or callable
            Disjoint cell sets, given as for :meth:`mfpt`.

        Returns
        -------
        ndarray, shape ``grid.shape``
            ``q`` in ``[0, 1]`` (up to round-off; an operator with negative couplings may
            overshoot slightly).
        """
        from .backward import committor
        return committor(self, source, target)

    def escape_rate(self, source, target):
        """Transition rate from ``source`` to ``target`` (transition path theory):
        ``k = ν / ρ``, reactive flux over the probability of having last visited ``source``.

        ``ν = Σ_{x∈source} π_x (Aᵀ q)_x`` with ``q`` the committor and ``π`` the stationary
        probabilities; ``ρ = Σ π q⁻`` with ``q⁻`` the committor of the time-reversed process
        (``1 − q`` for reversible operators). At high barriers this is the Kramers/Langer
        escape rate from the source well and ``1/k`` the mean first-passage time from its
        bottom; at any barrier it is the inverse mean time from a last exit from ``source`` to
        the next arrival in ``target``, averaged over reactive trajectories and the waiting
        time in ``source``. Needs a stationary density (no absorbing faces).

        Returns
        -------
        float
            Rate in inverse units of the SDE's time.
        """
        from .backward import transition_rate
        return transition_rate(self, source, target)

    def stationary(self):
        """The stationary density (cell averages, unit mass), shape ``grid.shape``.

        Reversible operators (see :attr:`reversible`): the exact discrete detailed-balance
        density ``π ∝ exp(φ)``, ``φ`` integrated from the zero-flux log ratios of the faces;
        every face flux vanishes, the density is positive, accurate to round-off *relative to
        each cell's own value* whatever the temperature (cells below ~1e-308 of the maximum
        underflow to 0), and costs O(n).

        Otherwise: ``A p = 0`` with ``p`` fixed in one cell (the minimum of the potential, or
        the grid's central cell for a general drift), by sparse LU, then normalised (the
        removed equation holds because the columns of ``A`` sum to zero). Its error is about
        ``eps · cond(A_pinned)`` relative to the maximum, which at low temperature (slowly
        exchanging metastable regions) can reach the masses of whole wells; the condition number
        is estimated (``onenormest``) and a ``RuntimeWarning`` is issued if that bound exceeds
        1e-4, as it is if the density comes out negative (below ``−1e-10`` of its maximum,
        with the cause: usually cross-diffusion the stencil cannot keep monotone).

        Returns
        -------
        ndarray
            Shape ``grid.shape``, ``∫ p dθ = 1`` to round-off.
        """
        if self.grid.absorbing:
            raise ValueError(f"stationary(): the grid has absorbing faces (boundary "
                             f"{self.grid.boundary!r}): mass leaks out and the only stationary "
                             "density is zero; use evolve(), mfpt() or relaxation_rates() (whose "
                             "slowest rate is then the escape rate of the quasi-stationary state)")
        if self._log_pi is not None:
            p = np.exp(self._log_pi)
            return (p / self.mass(p)).reshape(self.grid.shape)
        n = self.grid.n_cells
        pin = (int(np.argmin(self.potential)) if self.potential is not None
               else int(np.ravel_multi_index(tuple(s // 2 for s in self.grid.shape), self.grid.shape)))
        A = self.operator.tocsr(copy=True)
        A.data[A.indptr[pin]:A.indptr[pin + 1]] = 0.0
        A = A + sps.csr_matrix(([1.0], ([pin], [pin])), shape=(n, n))
        rhs = np.zeros(n)
        rhs[pin] = 1.0
        lu = _factorize(A)
        p = lu.solve(rhs)
        p = p / self.mass(p)
        inv = spla.LinearOperator((n, n), matvec=lu.solve, rmatvec=lambda b: lu.solve(b, trans="T"),
                                  dtype=np.float64)
        cond = spla.norm(A, 1) * spla.onenormest(inv)
        if _EPS * cond > 1e-4:
            warnings.warn(f"stationary(): the pinned system is ill-conditioned (estimated "
                          f"condition number {cond:.1e}): errors up to ~{_EPS * cond:.0e} of the "
                          "maximum density, enough to misplace the mass of slowly exchanging "
                          "(metastable) regions. The operator is not reversible (cross terms or a "
                          "non-gradient drift), so the exact log-space solution does not apply; "
                          "raise the temperature or coarsen the barrier resolution with care",
                          RuntimeWarning, stacklevel=2)
        rel = self._min_relative(p)
        if rel < -NEGATIVE_TOL:
            causes = [c for c in (
                self._positivity_cause(),
                "round-off of the ill-conditioned solve (see the warning above)"
                if _EPS * cond > 1e-4 else None) if c]
            cause = "; and ".join(causes) or "an under-resolved grid (large Péclet numbers): refine it"
            warnings.warn(f"stationary(): the density is negative in places (min/max = {rel:.2g}): "
                          f"{cause}", RuntimeWarning, stacklevel=2)
        return p.reshape(self.grid.shape)

    def evolve(self, p0, times, method=None, dt=None, *, drift_scale=None, diffusion_scale=None):
        """Densities at ``times`` (sorted, >= 0) from ``p0``, shape ``(len(times), *grid.shape)``.

        Parameters
        ----------
        p0 : array_like
            Initial cell averages (``n_cells`` values, any shape).
        times : array_like
            Sorted non-negative output times.
        method : {"expm", "crank-nicolson", "implicit-euler"}, optional
            Default ``"expm"``, or ``"crank-nicolson"`` when a schedule is given.
            ``"expm"``: ``exp(tA) p0`` by :func:`scipy.sparse.linalg.expm_multiply` (exact in
            time up to its tolerance; positive whenever the operator is an M-matrix; constant
            coefficients only). ``"crank-nicolson"``: second-order implicit steps of size
            ``dt``. It is *not* positivity-preserving unless ``dt · max|A_kk| <= 2``: modes
            faster than ``2/dt`` flip sign every step instead of decaying, so a sharply peaked
            ``p0`` (which excites them) oscillates and goes negative. ``"implicit-euler"``:
            first-order steps ``(I − dt A) p_{m+1} = p_m``, positive and monotone for any
            ``dt`` when the operator is an M-matrix (``report()["negative_couplings"] == 0``),
            with an ``O(dt)`` error. Both step methods: one LU factorisation reused by every
            step (and every later call with the same ``dt``) while the coefficients are
            constant, one per step under a schedule; times are rounded to multiples of ``dt``;
            mass is conserved to round-off (the columns of ``A`` sum to zero).
        dt : float, optional
            Step of the step methods (default: 1/200 of the last time; ignored by ``"expm"``),
            no longer than the last time.
        drift_scale, diffusion_scale : callable or float, optional
            Time-dependent coefficients: the operator at time ``t`` is the one built from
            ``drift_scale(t) · a`` and ``diffusion_scale(t) · D`` (``D`` and ``a`` as given to
            the constructor). A temperature schedule ``T(t)`` on ``D = T₀ I`` is
            ``diffusion_scale = lambda t: T(t) / T₀``; a learning-rate schedule ``η(t)`` of
            the SME (SDE time ``t``, ``D = (η/2) Σ_b``) is ``diffusion_scale = lambda t:
            η(t) / η₀``. Crank-Nicolson uses the operators at both ends of each step
            (second order in ``dt``), implicit Euler the one at its end. Each is evaluated at
            every step time before any work and must be finite, ``> 0`` (diffusion) or
            ``>= 0`` (drift).

        Warns
        -----
        RuntimeWarning
            If an output density has a minimum below ``−1e-10`` times its maximum, naming the
            cause (the Crank-Nicolson step, or negative couplings of the operator) and a remedy.
        """
        p0 = self._cells("p0", p0)
        times = _v.real_array("times", times)
        if times.ndim != 1 or times.size == 0 or np.any(~np.isfinite(times)) or np.any(times < 0) \
                or np.any(np.diff(times) < 0):
            raise ValueError(f"times: expected a non-empty 1-D sequence of sorted finite "
                             f"non-negative times, got {times.tolist()}")
        scheduled = drift_scale is not None or diffusion_scale is not None
        method = ("crank-nicolson" if scheduled else "expm") if method is None else method
        methods = ("expm", "crank-nicolson", "implicit-euler")
        if method not in methods:
            raise ValueError(f"method: expected one of {methods}, got {method!r}")
        if scheduled and method == "expm":
            raise ValueError("method: 'expm' needs constant coefficients; with drift_scale/"
                             "diffusion_scale use 'crank-nicolson' or 'implicit-euler'")
        if method != "expm":
            dt = (_v.positive("dt", dt) if dt is not None
                  else max(float(times[-1]) if times.size else 0.0, 1e-300) / 200)
            if dt > times[-1] > 0:
                raise ValueError(f"dt: expected a step no longer than the time span "
                                 f"{float(times[-1]):g} (times are rounded to multiples of "
                                 f"dt, so no step would be taken), got dt={dt:g}")
        n_steps = int(round(times[-1] / dt)) if times.size and method != "expm" else 0
        if scheduled:
            step_times = dt * np.arange(n_steps + 1)
            sa = _schedule("drift_scale", drift_scale, step_times, low=0.0)
            sd = _schedule("diffusion_scale", diffusion_scale, step_times, low=None)
        out = np.empty((times.size, self.grid.n_cells))
        if method == "expm":
            p, t_prev = p0, 0.0
            for m, t in enumerate(times):
                p = spla.expm_multiply(self.operator * (t - t_prev), p) if t > t_prev else p
                out[m], t_prev = p, t
        else:
            step = self._stepper(method, dt) if not scheduled else self._scheduled_stepper(method, dt, sa, sd)
            p, m_done = p0, 0
            for m, t in enumerate(times):
                target = int(round(t / dt))
                while m_done < target:
                    p = step(p, m_done)
                    m_done += 1
                out[m] = p
        self._warn_negative(out, p0, method, dt)
        return out.reshape((times.size,) + self.grid.shape)

    def _warn_negative(self, out, p0, method, dt):
        rel = min(self._min_relative(p) for p in out) if out.size else 0.0
        if rel >= -NEGATIVE_TOL or self._min_relative(p0) < -NEGATIVE_TOL:
            return
        cause = self._positivity_cause()
        stiff = float(np.abs(self.operator.diagonal()).max())
        if method == "crank-nicolson" and dt * stiff > 2:
            cause = (f"Crank-Nicolson with dt·max|A_kk| = {dt * stiff:.3g} > 2 is not positivity-"
                     "preserving (its fast modes oscillate instead of decaying; a sharply peaked "
                     f"initial density excites them): use dt <= {2 / stiff:.3g}, "
                     "method='implicit-euler' (positive, first order) or method='expm'")
        elif cause is None:
            cause = "round-off (the operator is an M-matrix); report() the density"
        warnings.warn(f"evolve(method={method!r}): the density went negative "
                      f"(min/max = {rel:.2g}): {cause}", RuntimeWarning, stacklevel=3)

    def _stepper(self, method, dt):
        """``step(p, m)`` of ``method`` with constant coefficients: one LU factorisation per
        ``dt``, cached on the instance."""
        cache = self.__dict__.setdefault("_step_cache", {})
        if (method, dt) not in cache:
            eye = sps.identity(self.grid.n_cells, format="csc")
            theta = 0.5 if method == "crank-nicolson" else 1.0
            lu = _factorize(eye - theta * dt * self.operator)
            explicit = (eye + (1 - theta) * dt * self.operator).tocsr()
            cache[method, dt] = lambda p, m: lu.solve(explicit @ p)
        return cache[method, dt]

    def _scheduled_stepper(self, method, dt, sa, sd):
        """``step(p, m)`` from step time ``m dt`` to ``(m + 1) dt`` with the operators of the
        schedule values ``sa[m]``, ``sd[m]`` (assembled once per distinct pair)."""
        eye = sps.identity(self.grid.n_cells, format="csc")
        theta = 0.5 if method == "crank-nicolson" else 1.0
        ops = {}

        def op(m):
            key = (float(sa[m]), float(sd[m]))
            if key not in ops:
                if len(ops) > 4:  # a smooth schedule never repeats: keep the recent ones
                    ops.pop(next(iter(ops)))
                ops[key] = self._assemble(*key)[0]
            return ops[key]

        def step(p, m):
            rhs = p + (1 - theta) * dt * (op(m) @ p) if theta < 1 else p
            return _factorize(eye - theta * dt * op(m + 1)).solve(rhs)
        return step

    def relaxation_rates(self, k=1):
        """The ``k`` slowest relaxation rates and their modes.

        The zero eigenvalue (the stationary density) is removed exactly, not by a threshold:
        the eigenvalues are those of the group inverse ``A^#`` (``A^# A = I − p 1ᵀ`` on
        densities), applied as ``Q K⁻¹ Q`` with ``K`` the operator pinned in one cell (sparse
        LU) and ``Q`` the projector that removes the stationary component; ``A^#`` has the
        eigenvalues ``1/λ`` for ``λ ≠ 0`` and ``0`` for the stationary density, so its ``k``
        largest in magnitude (ARPACK) are the ``k`` slowest modes, however small their rates.
        Reversible operators (:attr:`reversible`) are first symmetrised with the exact
        ``π`` (``S = π^{−1/2} A π^{1/2}``, off-diagonals ``√(A_kl A_lk)``, zero mode ``√π``
        known in closed form), so the spectrum is real and Lanczos applies.

        With absorbing box faces there is no stationary density and no zero mode: ``A`` is
        invertible and the slowest rate is that of the quasi-stationary state, the escape rate
        through the absorbing faces (its mode is the quasi-stationary density, not of zero
        mass).

        Parameters
        ----------
        k : int
            Number of modes, ``1 <= k <= n_cells − 2``.

        Returns
        -------
        rates : ndarray, shape (k,)
            ``−Re λ`` of the ``k`` non-zero eigenvalues closest to zero, ascending; mode ``j``
            decays as ``exp(−rates[j] t)``.
        modes : ndarray, shape ``(k, *grid.shape)``
            Right eigenvectors of the operator: density perturbations of zero mass. Reversible:
            real, orthonormal in the ``Σ_cells ψ_i ψ_j / π`` inner product (``π`` the
            stationary density as returned by ``stationary``); otherwise complex when the
            eigenvalue is, unit 2-norm. Sign/phase: the entry of largest modulus is real
            positive.

        Notes
        -----
        Accuracy: eigenvalues of a backward-stable solve are exact for an operator perturbed by
        ~``eps · ‖A‖``, so a rate has an absolute error of order ``eps · max|A_kk|``; a
        ``RuntimeWarning`` is issued when that exceeds 1e-3 of the rate (metastable regimes
        far beyond barrier/T ~ 30 on fine grids). In the tests, Kramers-regime rates (1-D double
        well, barrier/T up to 15) agree with an independent fine-grid reference to the
        discretisation error.
        """
        n = self.grid.n_cells
        k = _v.integer("k", k, low=1, high=n - 2)
        A = self.operator
        scale = float(np.abs(A.diagonal()).max())
        if self._log_pi is not None:
            pi = np.exp(self._log_pi)
            u = np.exp(0.5 * self._log_pi)
            u /= np.linalg.norm(u)
            off = A - sps.diags(A.diagonal())
            S = (off.multiply(off.T)).sqrt() + sps.diags(A.diagonal())
            pin = int(np.argmax(self._log_pi))
            project = lambda x: x - u * (u @ x)  # noqa: E731
        elif not self.grid.absorbing:
            S = A
            p = self.stationary().ravel()
            p = p / p.sum()
            pin = int(np.argmax(p))
            project = lambda x: x - p * x.sum()  # noqa: E731
        else:
            S = A
        if self.grid.absorbing:  # no zero mode: A itself is invertible
            pin, project = -1, (lambda x: x)
        keep = np.arange(n) != pin
        lu = _factorize(S.tocsr()[keep][:, keep])

        def ginv(b):
            b = project(np.asarray(b).ravel())
            x = np.zeros(n, dtype=np.result_type(b, np.float64))
            x[keep] = lu.solve(b[keep]) if np.isrealobj(b) else (
                lu.solve(b[keep].real) + 1j * lu.solve(b[keep].imag))
            return project(x)

        v0 = project(np.random.default_rng(0).standard_normal(n))
        op = spla.LinearOperator((n, n), matvec=ginv, dtype=np.float64)
        if self._log_pi is not None:
            mu, vec = spla.eigsh(op, k=k, which="LM", v0=v0)
        else:
            mu, vec = spla.eigs(op, k=k, which="LM", v0=v0)
        lam = 1.0 / mu
        order = np.argsort(-lam.real)
        lam, vec = lam[order], vec[:, order]
        if self._log_pi is not None:
            # ψ = π^{1/2} v with π the normalised density; Σ ψ²/π = Σ v² = 1
            p_norm = pi / self.mass(pi)
            modes = vec * np.sqrt(p_norm)[:, None]
        else:
            modes = vec / np.linalg.norm(vec, axis=0)
            if np.all(np.abs(lam.imag) <= 1e-12 * np.abs(lam)):
                lam = lam.real
        big = np.argmax(np.abs(modes), axis=0)
        phase = modes[big, np.arange(k)]
        modes = modes * (np.abs(phase) / phase)[None, :]
        if np.isrealobj(lam):
            modes = np.real_if_close(modes, tol=1e6)
        rates = -np.real(lam)
        err = _EPS * scale / np.abs(rates)
        if np.any(err > 1e-3):
            warnings.warn(f"relaxation_rates(): rate {rates[np.argmax(err)]:.3g} is within "
                          f"{err.max():.1e} (relative) of the double-precision floor "
                          f"eps·max|A_kk| = {_EPS * scale:.1e}: its digits are not reliable",
                          RuntimeWarning, stacklevel=2)
        return rates, modes.T.reshape((k,) + self.grid.shape)

    def relaxation_rate(self):
        """The spectral gap: the slowest rate of :meth:`relaxation_rates` (``−Re λ₁``, ``λ₁``
        the non-zero eigenvalue closest to zero). The slowest mode decays as
        ``exp(−rate · t)``."""
        return float(self.relaxation_rates(1)[0][0])
