"""Backward (Kolmogorov) solves: mean first-passage times, committors and escape rates against
exact 1-D quadrature, Kramers and Langer asymptotics and a symmetric saddle; absorbing walls;
bad input rejected before any work."""
import warnings

import numpy as np
import pytest
import scipy.integrate as si
import scipy.interpolate

from analysis.stationary import mfpt_quadrature
from landscape_sde.fokker_planck import FokkerPlanck, Grid


def U(x):
    """Quartic double well: minima at ±1, saddle at 0, barrier 1; U''(±1) = 8, U''(0) = −4."""
    return (x * x - 1) ** 2


def quad_mfpt(T, start, end, lower=-2.0):
    """Exact 1-D MFPT (nested quadrature; see ``analysis.stationary.mfpt_quadrature``)."""
    return mfpt_quadrature(U, T, start, end, lower, shift=1.0, points=(-1.0, 0.0, 1.0))


def fp_1d(T, n, lower=-2.0, upper=2.0, boundary="reflecting"):
    grid = Grid([lower], [upper], (n,), boundary=boundary)
    return FokkerPlanck(grid, T, potential=lambda p: U(p[:, 0])), grid.axes()[0]


@pytest.mark.parametrize("bt", [2, 10, 20])
def test_mfpt_1d_against_quadrature(bt):
    # MFPT from the left minimum over the barrier, (a) through an absorbing wall at the saddle
    # and (b) into the cells x >= 0.3 of a reflecting box (boundary: the first target centre).
    # Both are second order in h (next test); at 200 cells per unit length the measured
    # relative errors are −8e-6, −7e-5, −1.6e-4 at barrier/T = 2, 10, 20. The tolerance 1e-3
    # is ~6x the largest: discretisation error, far above round-off.
    T = 1.0 / bt
    fp, x = fp_1d(T, 400, upper=0.0, boundary=[("reflecting", "absorbing")])
    i = np.argmin(np.abs(x + 1))
    tau = fp.mfpt()
    assert tau[i] == pytest.approx(quad_mfpt(T, x[i], 0.0), rel=1e-3)
    fp, x = fp_1d(T, 800)
    target = x >= 0.3
    tau = fp.mfpt(target)
    exact = quad_mfpt(T, x[i], x[target][0])
    assert tau[i] == pytest.approx(exact, rel=1e-3)
    assert np.all(tau[target] == 0) and np.all(np.diff(tau[~target]) <= 0)  # decreasing to 0
    # negative control: the forward operator instead of its adjoint (A τ = −1) is far off
    free = ~target
    A = fp.operator.tocsr()[free][:, free]
    wrong = np.linalg.solve(A.toarray(), -np.ones(free.sum()))
    assert abs(wrong[i] / exact - 1) > 0.1


def test_mfpt_second_order_in_h():
    T = 0.1
    errors = []
    for n in (100, 200, 400):
        fp, x = fp_1d(T, n, upper=0.0, boundary=[("reflecting", "absorbing")])
        i = np.argmin(np.abs(x + 1))
        errors.append(abs(fp.mfpt()[i] / quad_mfpt(T, x[i], 0.0) - 1))
    slopes = -np.diff(np.log2(errors))
    assert np.all((slopes > 1.8) & (slopes < 2.2)), slopes


def test_kramers_asymptotics_with_prefactor():
    # MFPT from the left minimum to the right one at barrier/T = 10, 15, 20. Kramers:
    # τ k = 1 + (3/8) T + O(T²) with k = √(U''(−1)|U''(0)|)/(2π) e^{−ΔU/T}; the 3/8 is the sum
    # of the first Laplace corrections of the two integrals, ((5b²/24a³ − c/8a²) = 3/16 at the
    # minimum, U = 4u² + 4u³ + u⁴, and 3/16 at the saddle). Measured (τk − 1)/T: 0.433, 0.408,
    # 0.397, i.e. a T² remainder with coefficient ~0.5; allowed: |τk − 1 − 3T/8| < T².
    for bt in (10, 15, 20):
        T = 1.0 / bt
        fp, x = fp_1d(T, 801)
        i, target = np.argmin(np.abs(x + 1)), x >= 1.0
        tau = fp.mfpt(target)[i]
        assert tau == pytest.approx(quad_mfpt(T, x[i], x[target][0]), rel=1e-3)
        k = np.sqrt(8 * 4) / (2 * np.pi) * np.exp(-1 / T)
        assert abs(tau * k - 1 - 3 * T / 8) < T ** 2
        # the transition-path rate between the wells is 1/τ to O(e^{−ΔU/T}) (measured 3e-7)
        rate = fp.escape_rate(x <= -1.0, target)
        assert rate * tau == pytest.approx(1, abs=1e-5)
        # negative control: the prefactor without the saddle curvature's share (1/π instead of
        # 1/2π, the two-way relaxation rate) is off by a factor 2
        assert abs(tau * 2 * k - 1 - 3 * T / 8) > 0.5


def test_langer_2d_prefactor():
    # U = (x² − 1)² + ½(1 + 3x²) y², isotropic D = T: Langer's rate
    # k = (|λ_s|/2π) √(det H_min / |det H_s|) e^{−ΔU/T} = (4/2π) √(8·4 / 4) e^{−1/T}: the
    # transverse curvature (4 at the minima, 1 at the saddle) doubles the 1-D rate. τ k from
    # the minimum to x >= 1 at barrier/T = 10, 15, 20, extrapolated to T → 0 by a quadratic in
    # T, must be 1 within 2% (measured 0.997 on this grid; the grid error of τ at barrier/T
    # = 20 is ~0.3%, and the extrapolation amplifies it ~5x).
    def potential(p):
        return U(p[:, 0]) + 0.5 * (1 + 3 * p[:, 0] ** 2) * p[:, 1] ** 2
    grid = Grid([-2.0, -2.0], [2.0, 2.0], (241, 121))
    start = np.argmin(np.sum((grid.centers() - [-1.0, 0.0]) ** 2, axis=1))
    temps = np.array([1 / 10, 1 / 15, 1 / 20])
    ratios, one_d = [], []
    for T in temps:
        tau = FokkerPlanck(grid, T, potential=potential).mfpt(lambda p: p[:, 0] >= 1.0).ravel()[start]
        ratios.append(tau * 4 / (2 * np.pi) * np.sqrt(8 * 4 / 4) * np.exp(-1 / T))
        one_d.append(tau * np.sqrt(8 * 4) / (2 * np.pi) * np.exp(-1 / T))
    limit = np.polyval(np.polyfit(temps, ratios, 2), 0.0)
    assert limit == pytest.approx(1.0, abs=0.02)
    assert np.all(np.diff(ratios) < 0)  # approaches 1 from above as T falls
    # negative control: the 1-D Kramers rate (no transverse factor) extrapolates to 1/2
    assert np.polyval(np.polyfit(temps, one_d, 2), 0.0) == pytest.approx(0.5, abs=0.02)


def test_committor_1d_against_quadrature():
    # q(x) = ∫_a^x e^{U/T} / ∫_a^b e^{U/T} between the centres a, b of the sets' inner cells.
    T = 0.2
    fp, x = fp_1d(T, 800)
    source, target = x <= -0.8, x >= 0.9
    q = fp.committor(source, target)
    a, b = x[source][-1], x[target][0]
    g = lambda y: np.exp((U(y) - 1) / T)  # noqa: E731
    total = si.quad(g, a, b, points=[0.0], epsrel=1e-12)[0]
    inside = (x > a) & (x < b)
    exact = np.array([si.quad(g, a, y, epsrel=1e-12)[0] for y in x[inside][::20]]) / total
    np.testing.assert_allclose(q[inside][::20], exact, atol=2e-5)  # O(h²): measured 5e-6
    assert np.all(q[source] == 0) and np.all(q[target] == 1)
    # q(x) + q(−x) = 1 on a symmetric well with symmetric sets (round-off)
    q_sym = fp.committor(x <= -0.9, x >= 0.9)
    np.testing.assert_allclose(q_sym + q_sym[::-1], 1.0, atol=1e-12)


def test_escape_rate_1d_against_quadrature():
    # Transition path theory in 1-D: ν = T / (Z ∫_a^b e^{U/T}) (the reactive current) and
    # ρ_A = ∫ π (1 − q); k = ν/ρ_A. Tilted well U + 0.3x so that the rate is not symmetric.
    T, tilt = 0.25, 0.3
    grid = Grid([-2.0], [2.0], (800,))
    V = lambda y: U(y) + tilt * y  # noqa: E731
    fp = FokkerPlanck(grid, T, potential=lambda p: V(p[:, 0]))
    x = grid.axes()[0]
    source, target = x <= -0.9, x >= 0.9
    a, b = x[source][-1], x[target][0]
    boltz = lambda y: np.exp(-(V(y) - V(-1.0)) / T)  # noqa: E731
    Z = si.quad(boltz, -2, 2, points=[-1, 1], epsrel=1e-12)[0]
    R = si.quad(lambda y: 1 / boltz(y), a, b, epsrel=1e-12)[0]
    q = lambda y: si.quad(lambda s: 1 / boltz(s), a, y, epsrel=1e-12)[0] / R  # noqa: E731
    rho = (si.quad(boltz, -2, a, points=[-1], epsrel=1e-12)[0]
           + si.quad(lambda y: boltz(y) * (1 - q(y)), a, b, epsrel=1e-10)[0]) / Z
    exact = T / (Z * R) / rho
    assert fp.escape_rate(source, target) == pytest.approx(exact, rel=2e-4)  # O(h²): 4e-5
    back = fp.escape_rate(target, source)
    assert back != pytest.approx(exact, rel=0.1)  # the tilt makes the two directions differ


def test_committor_half_surface_on_a_rotated_symmetric_saddle():
    # U(u, v) = (u² − 1)² + ½(1 + u²) v² in coordinates rotated by 30° against the grid,
    # isotropic D: by the mirror symmetry u → −u, the committor between u <= −1 and u >= 1 is
    # 1/2 on the line u = 0, which runs across the cells. Bilinear interpolation of q on that
    # line: O(h²) (measured 4.3e-4, 1.1e-4, 2.9e-5 on 81², 161², 321²).
    phi, T = np.pi / 6, 0.25

    def uv(p):
        return (np.cos(phi) * p[:, 0] + np.sin(phi) * p[:, 1],
                -np.sin(phi) * p[:, 0] + np.cos(phi) * p[:, 1])

    def potential(p):
        u, v = uv(p)
        return (u * u - 1) ** 2 + 0.5 * (1 + u * u) * v * v

    grid = Grid([-2.5, -2.5], [2.5, 2.5], (161, 161))
    fp = FokkerPlanck(grid, T, potential=potential)
    q = fp.committor(lambda p: uv(p)[0] <= -1, lambda p: uv(p)[0] >= 1)
    f = scipy.interpolate.RegularGridInterpolator(grid.axes(), q)
    v = np.linspace(-1, 1, 41)
    assert np.abs(f(np.stack([-np.sin(phi) * v, np.cos(phi) * v], 1)) - 0.5).max() < 3e-4
    # negative control: the grid's own axis x = 0 is not the 1/2 surface
    assert np.abs(f(np.stack([0 * v, v], 1)) - 0.5).max() > 0.3


def test_absorbing_walls_leak_mass_and_quasi_stationary_rate():
    # Mass leaves through an absorbing face at the rate the evolved density shows; the slowest
    # rate of the killed operator (the quasi-stationary state's escape rate) is 1/τ at a high
    # barrier (here barrier/T = 8, τ from the minimum; the two differ by O(e^{−ΔU/T}) and the
    # spread of τ over the well, measured 4e-4).
    T = 1 / 8
    fp, x = fp_1d(T, 400, upper=0.0, boundary=[("reflecting", "absorbing")])
    rate = fp.relaxation_rate()
    tau = fp.mfpt()[np.argmin(np.abs(x + 1))]
    assert rate * tau == pytest.approx(1, rel=2e-3)
    colsum = np.asarray(fp.operator.sum(axis=0)).ravel()
    assert colsum[-1] < 0 and np.abs(colsum[:-1]).max() < 1e-12 * np.abs(fp.operator.diagonal()).max()
    with pytest.raises(ValueError, match="absorbing"):
        fp.stationary()
    with pytest.raises(ValueError, match="absorbing"):
        fp.escape_rate(x < -1, x > -0.2)


def test_bad_sets_rejected_naming_the_argument():
    fp, x = fp_1d(0.5, 50)
    with pytest.raises(ValueError, match=r"target: the set contains no cell.*outside the box"):
        fp.mfpt(lambda p: p[:, 0] > 5)
    with pytest.raises(ValueError, match="target: the set contains every one of the 50 cells"):
        fp.mfpt(np.ones(50, dtype=bool))
    with pytest.raises(TypeError, match="target: expected booleans.*float64"):
        fp.mfpt(np.ones(50))
    with pytest.raises(ValueError, match=r"target: expected a boolean mask of shape \(50,\)"):
        fp.mfpt(np.ones(7, dtype=bool))
    with pytest.raises(ValueError, match="target: expected the function to return 50 booleans"):
        fp.mfpt(lambda p: p > 0)
    with pytest.raises(ValueError, match="target: required unless the grid has an absorbing face"):
        fp.mfpt()
    with pytest.raises(ValueError, match="source/target: the sets overlap in 5 cells"):
        fp.committor(x < 0.2, x > -0.2)
    with pytest.raises(ValueError, match="source/target: together the sets contain every cell"):
        fp.committor(x < 0, x >= 0)
    with pytest.raises(ValueError, match="source: the set contains no cell"):
        fp.escape_rate(np.zeros(50, dtype=bool), x > 0)


def test_bad_boundaries_rejected():
    with pytest.raises(ValueError, match="periodic axis has no box faces"):
        Grid([0, 0], [1, 1], (8, 8), boundary=[("periodic", "absorbing"), "reflecting"])
    with pytest.raises(ValueError, match=r"per-side conditions of the one axis go in a pair"):
        Grid([0], [1], (8,), boundary=("reflecting", "absorbing"))
    with pytest.raises(ValueError, match=r"axis 1 has 'sticky'"):
        Grid([0, 0], [1, 1], (8, 8), boundary=["reflecting", "sticky"])
    g = Grid([0, 0], [1, 1], (8, 8), boundary=[("absorbing", "reflecting"), "periodic"])
    assert g.sides == (("absorbing", "reflecting"), ("periodic", "periodic")) and g.absorbing


def test_mfpt_warns_at_the_round_off_floor():
    # barrier/T = 30 on 800 cells: eps·max|A_kk|·τ ~ 0.3, so digits are not reliable
    fp, x = fp_1d(1 / 30, 800)
    with pytest.warns(RuntimeWarning, match="round-off rate"):
        fp.mfpt(x >= 1.0)
    fp, x = fp_1d(1 / 10, 800)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fp.mfpt(x >= 1.0)
