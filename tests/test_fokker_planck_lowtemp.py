"""The Fokker-Planck solver at low temperature (issue 18, first two sections): relaxation rates
in the Kramers regime against an independent fine-grid reference, well masses down to
barrier/T = 100 against quadrature, and positivity diagnostics (docs/fokker_planck.md)."""
import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.sparse as sps
import scipy.sparse.linalg as spla

import landscape_sde as lsde
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import DoubleWell

LO, HI = -2.0, 2.0


def quartic(tilt=0.0):
    return lambda x: (x * x - 1.0) ** 2 + tilt * x


def _fp_1d(U, T, n):
    return FokkerPlanck(Grid([LO], [HI], (n,)), T, potential=lambda pts: U(pts[:, 0]))


# --- an independent reference for the spectrum ------------------------------------------------
def reference_rates(U, T, n, k=3):
    """The ``k`` slowest rates of ``T ∂_x(π ∂_x(p/π))`` on ``[LO, HI]`` with reflecting walls,
    discretised independently of the solver and solved to full relative precision.

    Discretisation: the square-root approximation (SqRA) on ``n`` cells, jump rates
    ``(T/h²) √(π_{k±1}/π_k)``, ``π = exp(−U/T)`` at cell centres (second order; reversible by
    construction, conductances ``c_e = (T/h²) √(π_e π_{e+1})``). Its non-zero eigenvalues are
    those of ``B Bᵀ`` on edges, ``B = C^{1/2} D Π^{−1/2}``, so no zero mode has to be removed at
    all. ``(B Bᵀ)⁻¹ = C^{−1/2} G C^{−1/2}`` with ``G`` the Green's function of a resistor chain
    (resistances ``π_k``, both ends grounded): ``G_ee' = F_min(e,e') R_max(e,e') / Z`` with
    ``F``/``R`` cumulative masses from the left/right -- sums of positive numbers, so the
    inverse is applied to full relative precision in O(n) per product, and Lanczos gives its
    largest eigenvalues ``1/λ`` to relative precision ~eps, however small ``λ`` is (a direct
    eigensolver of the tridiagonal generator has absolute errors ~eps·T/h², i.e. 1e-3 relative
    at barrier/T = 15 and n = 20000).
    """
    h = (HI - LO) / n
    u = U(LO + (np.arange(n) + 0.5) * h) / T
    u = u - u.min()
    pi = np.exp(-u)
    F = np.cumsum(pi)[:-1]
    R = np.cumsum(pi[::-1])[::-1][1:]
    s = 1.0 / np.sqrt((T / h**2) * np.exp(-0.5 * (u[:-1] + u[1:])))

    def matvec(y):
        y = np.ravel(y) * s
        left = np.cumsum(F * y)
        right = np.append(np.cumsum((R * y)[::-1])[::-1][1:], 0.0)
        return s * (R * left + F * right) / pi.sum()

    op = spla.LinearOperator((n - 1, n - 1), matvec=matvec, dtype=np.float64)
    mu = spla.eigsh(op, k=k, which="LA", return_eigenvectors=False, v0=np.ones(n - 1))
    return np.sort(1.0 / mu)


def old_threshold_rate(fp, k=4):
    """The rule this replaces: discard every eigenvalue below 1e-8 of max|A_kk| as 'zero'."""
    scale = float(np.abs(fp.operator.diagonal()).max())
    vals = spla.eigs(fp.operator, k=k, sigma=1e-9 * scale, which="LM", return_eigenvectors=False)
    return float(np.min(-vals[np.abs(vals) > 1e-8 * scale].real))


N_FP, N_REF = 800, 40_000
# Tolerance: the solver's O(h²) discretisation error at n = 800, measured (Richardson, n = 400,
# 800, 1600, clean factor-4 convergence) at ≤ 1.2e-4 for λ₁ and ≤ 2.5e-5 for λ₂ over
# barrier/T = 2..15; 4e-4 leaves a factor 3. The reference's own error (n = 40,000 against
# 20,000) is < 1e-6, checked below.
RATE_RTOL = 4e-4


@pytest.mark.parametrize("bt", [2, 5, 10, 15])
def test_relaxation_rates_kramers_regime_against_reference(bt):
    T = 1.0 / bt  # barrier 1
    U = quartic()
    fp = _fp_1d(U, T, N_FP)
    assert fp.reversible
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no accuracy warning in this regime
        rates, modes = fp.relaxation_rates(3)
    ref = reference_rates(U, T, N_REF)
    assert np.abs(ref / reference_rates(U, T, N_REF // 2) - 1).max() < 1e-6
    np.testing.assert_allclose(rates[:2], ref[:2], rtol=RATE_RTOL)
    assert fp.relaxation_rate() == pytest.approx(rates[0], rel=1e-10)  # Lanczos round-off
    # Kramers: λ₁ = 2 · √(U''(±1)|U''(0)|)/(2π) · e^{−1/T} (1 + O(T)); measured O(T) term ≈ 0.4 T
    kramers = np.sqrt(32.0) / np.pi * np.exp(-bt)
    assert abs(rates[0] / kramers - 1) < 0.6 / bt
    # modes: density perturbations of zero mass, orthonormal in Σ ψ_i ψ_j / π, the slowest
    # odd (it moves mass from one well to the other)
    p = fp.stationary().ravel()
    psi = modes.reshape(3, -1)
    gram = (psi / p) @ psi.T
    np.testing.assert_allclose(gram, np.eye(3), atol=1e-8)
    assert np.abs(psi.sum(axis=1)).max() < 1e-10 * np.abs(psi).sum(axis=1).max()
    assert np.abs(psi[0] + psi[0][::-1]).max() < 1e-6 * np.abs(psi[0]).max()
    # negative controls: a 5% wrong temperature is ≫ the tolerance away, and at high barriers
    # the old thresholding rule returns the second rate instead of the first
    wrong_T = reference_rates(U, 1.05 * T, N_REF // 4, k=1)[0]
    assert abs(rates[0] / wrong_T - 1) > 10 * RATE_RTOL
    if bt >= 12:
        assert old_threshold_rate(fp) > 1e5 * ref[0]


def test_relaxation_rates_converge_at_second_order():
    # At barrier/T = 15 the error against the reference falls by 4 per halving of h: the
    # tolerance above is a grid error, not round-off.
    U, T = quartic(), 1.0 / 15
    ref = reference_rates(U, T, N_REF, k=1)[0]
    err = [abs(_fp_1d(U, T, n).relaxation_rate() / ref - 1) for n in (400, 800)]
    assert 3.5 < err[0] / err[1] < 4.5, err


def test_relaxation_rates_non_reversible_ou():
    # 2-D OU with a full constant D (cross terms: the non-reversible path, group inverse +
    # Arnoldi): the generator's eigenvalues are n₁μ₁ + n₂μ₂ (μ the eigenvalues of H), for any
    # D. Grid error O(h²) ≈ 1e-3 (as for the gap in test_fokker_planck.py); tolerance 5e-3.
    H = np.array([[1.0, 0.3], [0.3, 1.6]])
    D = 0.05 * np.array([[1.0, 0.4], [0.4, 0.8]])
    grid = Grid([-1.2, -1.0], [1.2, 1.0], (96, 80))
    fp = FokkerPlanck(grid, lambda x: np.broadcast_to(D, (x.shape[0], 2, 2)).copy(),
                      potential=lambda x: 0.5 * np.einsum("mi,ij,mj->m", x, H, x))
    assert not fp.reversible
    rates, modes = fp.relaxation_rates(3)
    mu = np.linalg.eigvalsh(H)
    exact = np.sort([mu[0], mu[1], 2 * mu[0], mu[0] + mu[1], 2 * mu[1]])[:3]
    np.testing.assert_allclose(rates, exact, rtol=5e-3)
    assert np.abs(modes.reshape(3, -1).sum(axis=1)).max() < 1e-10


def test_relaxation_rates_bad_k():
    fp = _fp_1d(quartic(), 0.5, 20)
    for k in (0, -1, 19, 100):
        with pytest.raises(ValueError, match=rf"k: .*got {k}"):
            fp.relaxation_rates(k)
    rates, modes = fp.relaxation_rates(18)  # the largest k allowed: n_cells − 2
    assert rates.shape == (18,) and modes.shape == (18, 20) and np.all(np.diff(rates) >= 0)


# --- stationary densities at low temperature --------------------------------------------------
def exact_log_masses(U, T, split):
    """``log`` of the exact masses of ``exp(−U/T)`` on ``[LO, split]`` and ``[split, HI]``,
    each integral scaled by its own minimum (no underflow at any temperature)."""
    logs = []
    for a, b in ((LO, split), (split, HI)):
        xm = scipy.optimize.minimize_scalar(U, bounds=(a, b), method="bounded",
                                            options={"xatol": 1e-12}).x
        val = scipy.integrate.quad(lambda x: np.exp(-(U(x) - U(xm)) / T), a, b, points=[xm],
                                   epsabs=0, epsrel=1e-13, limit=400)[0]
        logs.append(np.log(val) - U(xm) / T)
    total = np.logaddexp(*logs)
    return logs[0] - total, logs[1] - total


# Tolerance on log well masses: the solver's density is exactly exp(−U(x_k)/T) at the cell
# centres (Scharfetter-Gummel with constant T), so a well mass is a midpoint sum of a smooth
# peaked function, exponentially accurate (~exp(−2π²σ²/h²), σ² = T/U'') up to the Euler-
# Maclaurin term at the split face (next to the saddle, where U' ≈ 0: O(h³) relative to the
# saddle density). What remains is round-off of the log-space sums, ≤ n·eps·max|U/T|
# = 2000 · 2.2e-16 · 950 ≈ 4e-10; tolerance 1e-9. (Measured: ≤ 6e-13.)
MASS_TOL = 1e-9


def old_pinned_solve(fp):
    """The solve this replaces: the singular system pinned at the potential's minimum."""
    n = fp.grid.n_cells
    pin = int(np.argmin(fp.potential))
    A = fp.operator.tolil(copy=True)
    A[pin, :] = 0.0
    A[pin, pin] = 1.0
    rhs = np.zeros(n)
    rhs[pin] = 1.0
    p = spla.spsolve(A.tocsc(), rhs)
    return p / fp.mass(p)


@pytest.mark.parametrize("tilt", [0.0, 0.3])
@pytest.mark.parametrize("bt", [8, 25, 50, 100])
def test_well_masses_down_to_barrier_over_T_100(tilt, bt):
    U = quartic(tilt)
    saddle = scipy.optimize.brentq(lambda x: 4 * x * (x * x - 1) + tilt, -0.5, 0.5)
    left_min = scipy.optimize.brentq(lambda x: 4 * x * (x * x - 1) + tilt, -1.5, -0.5)
    T = (U(saddle) - U(left_min)) / bt  # the higher (left) well's barrier
    n = 2000
    grid = Grid([LO], [HI], (n,))
    fp = _fp_1d(U, T, n)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p = fp.stationary().ravel()
    face = int(round((saddle - LO) / grid.spacing[0]))  # split at the cell face nearest the saddle
    split = LO + face * grid.spacing[0]
    log_left, log_right = exact_log_masses(U, T, split)
    got = np.log([p[:face].sum() * grid.cell_volume, p[face:].sum() * grid.cell_volume])
    np.testing.assert_allclose(got, [log_left, log_right], rtol=0, atol=MASS_TOL)
    rep = fp.report(p)
    assert rep["mass_error"] < 1e-13 and rep["min_density"] >= 0 and rep["positive"]
    assert rep["max_flux"] < 1e-12 * p.max() * T / grid.spacing[0]
    if tilt == 0.0:
        assert abs(p[:face].sum() - p[face:].sum()) < 1e-12 * p.sum()  # symmetry
    if bt == 100:  # negative control: the old pinned direct solve misplaces the wells' masses
        old = old_pinned_solve(fp)
        old_log = np.log(np.maximum([old[:face].sum() * grid.cell_volume,
                                     old[face:].sum() * grid.cell_volume], 1e-300))
        assert np.abs(old_log - [log_left, log_right]).max() > 1e6 * MASS_TOL


def test_symmetric_double_well_2d_at_barrier_over_T_100():
    # The engine's DoubleWell through from_model (the example): the left-well mass
    # must be 1/2 at every temperature (the old solve put all of it in one well at 100).
    grid = Grid([-2.0, -0.6], [2.0, 0.6], (200, 24))
    x = grid.centers()[:, 0]
    for bt in (8, 25, 100):
        fp = FokkerPlanck.from_model(DoubleWell(), lsde.Langevin(1e-3, 1.0 / bt), grid)
        p = fp.stationary()
        assert fp.reversible
        left = grid.integrate(p.ravel() * (x < 0))
        assert abs(left - 0.5) < 1e-12 and p.min() >= 0 and fp.report(p)["mass_error"] < 1e-13
    assert abs(grid.integrate(old_pinned_solve(fp) * (x < 0)) - 0.5) > 0.49  # negative control


# --- positivity diagnostics ----------------------------------------------------------------
def _correlated(rho, n=80):
    grid = Grid([-2.0, -2.0], [2.0, 2.0], (n, n))
    D = 0.1 * np.array([[1.0, rho], [rho, 1.0]])
    return FokkerPlanck(grid, lambda x: np.broadcast_to(D, (x.shape[0], 2, 2)).copy(),
                        potential=lambda x: 0.5 * np.sum(x**2, axis=1))


def test_strong_cross_diffusion_warns_and_reports():
    # Correlation 0.99: the cross-term stencil has negative couplings; the stationary density
    # goes negative (min/max ≈ −0.02). It must say so; at 0.3 it stays an M-matrix, silently.
    fp = _correlated(0.99)
    with pytest.warns(RuntimeWarning, match=r"negative in places.*not an M-matrix.*principal axes"):
        p = fp.stationary()
    rep = fp.report(p)
    assert not rep["positive"] and rep["min_relative"] < -1e-3 and rep["negative_couplings"] > 0
    assert rep["mass_error"] < 1e-13
    fp = _correlated(0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p = fp.stationary()
    rep = fp.report(p)
    assert rep["positive"] and rep["negative_couplings"] == 0 and rep["min_relative"] >= 0


def test_ill_conditioned_non_reversible_solve_warns():
    # Double well with a small cross term (not reversible) at barrier/T = 40: the pinned LU
    # misplaces the well masses (left mass ≈ 1.01, not 1/2) -- the warning must say so.
    grid = Grid([-2.0, -1.0], [2.0, 1.0], (120, 40))
    D = (1 / 40) * np.array([[1.0, 0.1], [0.1, 1.0]])
    fp = FokkerPlanck(grid, lambda x: np.broadcast_to(D, (x.shape[0], 2, 2)).copy(),
                      potential=lambda x: (x[:, 0] ** 2 - 1) ** 2 + 0.5 * x[:, 1] ** 2)
    with pytest.warns(RuntimeWarning, match="ill-conditioned"):
        fp.stationary()


def test_crank_nicolson_from_a_peak_warns_with_remedy():
    # A one-cell peak excites the fastest modes; CN with dt·max|A_kk| = 16 flips them each
    # step (min/max ≈ −6 after one output). Warn, with the step bound; implicit Euler with the
    # same dt and CN below the bound stay positive; mass is conserved to round-off by all.
    grid = Grid([-2.0, -2.0], [2.0, 2.0], (80, 80))
    fp = FokkerPlanck(grid, 0.2, potential=lambda x: 0.5 * np.sum(x**2, axis=1))
    p0 = np.zeros(grid.n_cells)
    p0[np.argmin(np.sum((grid.centers() - [0.5, 0.3]) ** 2, axis=1))] = 1 / grid.cell_volume
    times = [0.05, 0.2, 1.0]
    with pytest.warns(RuntimeWarning, match=r"Crank-Nicolson.*use dt <= .*implicit-euler"):
        cn = fp.evolve(p0, times, method="crank-nicolson", dt=0.05)
    assert min(fp.report(p)["min_relative"] for p in cn) < -1.0
    stiff = float(np.abs(fp.operator.diagonal()).max())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ie = fp.evolve(p0, times, method="implicit-euler", dt=0.05)
        small = fp.evolve(p0, [0.05], method="crank-nicolson", dt=1.0 / stiff)
    for p in list(cn) + list(ie) + list(small):
        assert abs(fp.mass(p) - 1) < 1e-12
    assert all(fp.report(p)["positive"] and p.min() >= 0 for p in list(ie) + list(small))


def test_implicit_euler_is_first_order():
    # OU, T = 0.2, H = I: the mean decays as e^{−t}. Implicit Euler's error in the mean at
    # t = 1 halves with dt (first order); the grid part of the error (~1e-5, O(h²)) is removed
    # by comparing with expm on the same grid.
    grid = Grid([-2.0], [2.0], (200,))
    fp = FokkerPlanck(grid, 0.2, potential=lambda x: 0.5 * x[:, 0] ** 2)
    x = grid.axes()[0]
    p0 = np.exp(-((x - 0.8) ** 2) / 0.02)
    p0 /= grid.integrate(p0)
    exact = grid.integrate(x * fp.evolve(p0, [1.0]).ravel())
    err = [abs(grid.integrate(x * fp.evolve(p0, [1.0], method="implicit-euler", dt=dt).ravel())
               - exact) for dt in (0.02, 0.01)]
    assert 1.8 < err[0] / err[1] < 2.2, err
