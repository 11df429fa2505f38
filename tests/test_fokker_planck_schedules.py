"""Time-dependent coefficients in ``evolve``: temperature and learning-rate schedules on
Ornstein-Uhlenbeck processes with known time-dependent variances; bad schedules rejected."""
import warnings

import numpy as np
import pytest
import scipy.integrate

import landscape_sde as lsde
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from models import Quadratic

h, T0, T1, gamma = 1.5, 0.4, 0.1, 2.0  # annealing T(t) = T1 + (T0 − T1) e^{−γt}


def temperature(t):
    return T1 + (T0 - T1) * np.exp(-gamma * t)


def exact_variance(t, v0):
    """``V' = −2hV + 2T(t)``: ``V0 e^{−2ht} + (T1/h)(1 − e^{−2ht}) + 2(T0 − T1)(e^{−γt} −
    e^{−2ht})/(2h − γ)``."""
    e = np.exp(-2 * h * t)
    return v0 * e + T1 / h * (1 - e) + 2 * (T0 - T1) * (np.exp(-gamma * t) - e) / (2 * h - gamma)


def moments(grid, p):
    x, w = grid.axes()[0], p * grid.cell_volume
    mean = w @ x
    return mean, w @ (x - mean) ** 2


@pytest.fixture(scope="module")
def annealing():
    grid = Grid([-3.0], [3.0], (600,))
    fp = FokkerPlanck(grid, T0, potential=lambda x: 0.5 * h * x[:, 0] ** 2)
    x, m0, v0 = grid.axes()[0], 0.8, 0.05
    p0 = np.exp(-0.5 * (x - m0) ** 2 / v0)
    return fp, grid, p0 / grid.integrate(p0), m0, v0


def test_temperature_schedule_against_exact_variance(annealing):
    # Grid error of the variance ~1e-6 (h = 0.01, O(h²)); with Crank-Nicolson's O(dt²) the
    # error is measured 2.5e-5, 4.7e-6 at dt = 0.04, 0.02, on a variance of ~0.1; allowed 2e-5
    # at dt = 0.01. The mean follows m0 e^{−ht} whatever the schedule.
    fp, grid, p0, m0, v0 = annealing
    times = [0.24, 1.0, 2.0]  # multiples of both steps
    errors, variances = {}, {}
    for dt in (0.04, 0.02, 0.01):
        pts = fp.evolve(p0, times, dt=dt, diffusion_scale=lambda t: temperature(t) / T0)
        variances[dt] = np.array([moments(grid, p)[1] for p in pts])
        errors[dt] = np.abs(variances[dt] - exact_variance(np.array(times), v0)).max()
        for t, p in zip(times, pts):
            # Crank-Nicolson's O(dt²) error on the decay e^{−ht}: 4.5e-5 at dt = 0.04
            assert moments(grid, p)[0] == pytest.approx(m0 * np.exp(-h * t), abs=2e-4)
            assert abs(fp.mass(p) - 1) < 1e-12
    assert errors[0.01] < 2e-5
    # second order in dt, measured by self-convergence (free of the grid error)
    ratio = (np.abs(variances[0.04] - variances[0.02]).max()
             / np.abs(variances[0.02] - variances[0.01]).max())
    assert 3.5 < ratio < 4.5, ratio
    # implicit Euler: first order (ratio ~2)
    ie = [max(abs(moments(grid, p)[1] - exact_variance(t, v0)) for t, p in
              zip(times, fp.evolve(p0, times, "implicit-euler", dt=dt,
                                   diffusion_scale=lambda t: temperature(t) / T0)))
          for dt in (0.02, 0.01)]
    assert 1.7 < ie[0] / ie[1] < 2.3
    # negative control: the temperature frozen at T0 ends far from the annealed variance
    frozen = fp.evolve(p0, [2.0], dt=0.02)[0]
    assert abs(moments(grid, frozen)[1] - exact_variance(2.0, v0)) > 100 * errors[0.01]


def test_learning_rate_schedule_on_the_sme():
    # SME of a quadratic with η(t) = η0 / (1 + t): D(t) = (η(t)/2) c_b C, so the covariance
    # solves dS/dt = −HS − SH + 2D(t) (solve_ivp to 1e-10). From the stationary state of η0.
    H = np.array([[1.0, 0.4], [0.4, 2.0]])
    C = np.array([[1.0, -0.3], [-0.3, 0.5]])
    lr0 = 0.3
    model = Quadratic(H, C, n_samples=8)
    grid = Grid([-1.2, -0.8], [1.2, 0.8], (48, 48))  # ±4.4 and ±5.5 standard deviations
    fp = FokkerPlanck.from_model(model, lsde.SME(lr0, 2), grid)
    p0 = fp.stationary().ravel()
    x = grid.centers()

    def cov(p):
        w = p.ravel() * grid.cell_volume
        return (x * w[:, None]).T @ x

    D0 = lr0 / 2 * lsde.noise.batch_noise_factor(8, 2) * C
    rhs = lambda t, s: (-(H @ s.reshape(2, 2)) - s.reshape(2, 2) @ H + 2 * D0 / (1 + t)).ravel()  # noqa: E731
    S0 = cov(p0)
    sol = scipy.integrate.solve_ivp(rhs, (0, 2), S0.ravel(), t_eval=[0.5, 2.0], rtol=1e-10, atol=1e-12)
    with warnings.catch_warnings():  # correlation 0.42 on this coarse grid: negatives ~1e-9
        warnings.simplefilter("ignore", RuntimeWarning)
        pts = fp.evolve(p0, [0.5, 2.0], dt=0.02, diffusion_scale=lambda t: 1 / (1 + t))
    for k, p in enumerate(pts):
        # O(h²) grid error: measured 2.6e-4, 1.5e-4, 6.5e-5 on 48², 64², 96² (halving dt
        # changes nothing) on entries up to 0.075; allowed 5e-4
        np.testing.assert_allclose(cov(p), sol.y[:, k].reshape(2, 2), atol=5e-4)
    assert np.abs(cov(pts[-1]) - S0).max() > 0.02  # the schedule matters


@pytest.mark.parametrize("kwargs, match", [
    (dict(diffusion_scale=lambda t: np.nan if t > 0.3 else 1.0),
     r"diffusion_scale: expected finite values > 0 at every step time, got nan at t = 0\.31"),
    (dict(diffusion_scale=lambda t: 1.0 - t), r"diffusion_scale: .*> 0 .* got 0\.0 at t = 1"),
    (dict(drift_scale=np.inf), r"drift_scale: expected a finite number"),
    (dict(drift_scale=lambda t: -1.0), r"drift_scale: expected finite values >= 0 .* got -1\.0 at t = 0"),
    (dict(diffusion_scale=lambda t: 1.0, method="expm"), r"method: 'expm' needs constant coefficients"),
    (dict(diffusion_scale=lambda t: 1.0, dt=-0.1), r"dt: expected a finite number in \(0, inf\)"),
])
def test_bad_schedules_rejected_before_any_work(kwargs, match):
    grid = Grid([-1.0], [1.0], (20,))
    fp = FokkerPlanck(grid, 0.5, potential=lambda x: x[:, 0] ** 2)
    calls = []
    fp._assemble = lambda *a: calls.append(a)  # any assembly would be work
    with pytest.raises((ValueError, TypeError), match=match):
        fp.evolve(np.full(20, 0.5), [0.5, 1.0], **{"dt": 0.01, **kwargs})
    assert not calls
