"""Underdamped Langevin (BAOAB, with the Euler-type step as negative control) and the RK4
gradient-flow reference: exact discrete stationary covariances, Boltzmann quadrature, the
high-friction limit, and the convergence order measured as a slope."""
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

import landscape_sde as lsde
from models import DoubleWell, Quadratic

T, GAMMA, H = 0.5, 1.0, 1.0
HARMONIC = Quadratic([[H]])


def _linear_stationary(scheme):
    """Exact stationary covariance of ``(θ, v)`` for the scheme's linear map on ``L = ½Hθ²``
    (``m = 1``), built here from the scheme's definition (independent of the compiled code)."""
    dt = scheme.dt
    if isinstance(scheme, lsde.BAOAB):
        c = np.exp(-GAMMA * dt)
        B = np.array([[1, 0], [-0.5 * dt * H, 1]])
        A = np.array([[1, 0.5 * dt], [0, 1]])
        O = np.diag([1, c])
        M = B @ A @ O @ A @ B
        q = B @ A @ np.array([0, np.sqrt((1 - c * c) * T)])
    else:  # Euler-Maruyama in phase space
        M = np.array([[1, dt], [-dt * H, 1 - GAMMA * dt]])
        q = np.array([0, np.sqrt(2 * GAMMA * T * dt)])
    return scipy.linalg.solve_discrete_lyapunov(M, np.outer(q, q))


def _stationary_moments(scheme, n=20_000):
    """Final ``θ²`` and ``v²`` of ``n`` replicas after ~20 relaxation times."""
    vel = {}
    ens = lsde.simulate(HARMONIC, scheme, [0.0], n_steps=int(40 / scheme.dt) + 1, n_replicas=n,
                        save_every=10**9, rng=7,
                        observe={"v": (int(40 / scheme.dt) + 1, lambda th, v: v[:, 0], "velocity")})
    vel = ens.observables["v"]["values"][-1]
    return ens.theta[-1, :, 0] ** 2, vel ** 2


@pytest.mark.parametrize("dt", [0.5, 1.0, 1.6])
def test_baoab_configurations_are_exact_on_a_harmonic_well(dt):
    # n = 20,000 independent replicas: the standard error of a mean of θ² is
    # sd(θ²)/√n = √2 ⟨θ²⟩/√n ≈ 1% of it; 4 standard errors.
    x2, v2 = _stationary_moments(lsde.BAOAB(dt, T, GAMMA))
    exact = _linear_stationary(lsde.BAOAB(dt, T, GAMMA))
    assert exact[0, 0] == pytest.approx(T / H, rel=1e-12)  # the known property, in closed form
    se = lambda a: a.std() / np.sqrt(a.size)  # noqa: E731
    assert abs(x2.mean() - T / H) < 4 * se(x2)
    # kinetic temperature: biased, T (1 − H dt²/4), and the simulation follows it
    assert exact[1, 1] == pytest.approx(T * (1 - H * dt * dt / 4), rel=1e-12)
    assert abs(v2.mean() - exact[1, 1]) < 4 * se(v2)
    if dt >= 1.0:  # the bias is resolved: ≥ 25% against a 1% standard error
        assert abs(v2.mean() - T) > 10 * se(v2)


def test_euler_underdamped_step_is_biased_in_the_configurations():
    # Negative control: the Euler-type step has an O(dt) configurational bias, which the
    # exactness test above detects, and the simulation matches its own discrete Lyapunov.
    scheme = lsde.UnderdampedEuler(0.1, T, GAMMA)
    x2, v2 = _stationary_moments(scheme)
    exact = _linear_stationary(scheme)
    se = x2.std() / np.sqrt(x2.size)
    assert abs(x2.mean() - exact[0, 0]) < 4 * se
    assert abs(x2.mean() - T / H) > 8 * se


def _boltzmann_x2(model, temperature):
    x = np.linspace(-4, 4, 40_001)
    w = np.exp(-np.array([model.loss(np.array([t])) for t in x]) / temperature)
    return np.trapezoid(x * x * w, x) / np.trapezoid(w, x) if hasattr(np, "trapezoid") else \
        np.trapz(x * x * w, x) / np.trapz(w, x)


def _time_average_x2(model, scheme, n_replicas=2000, n_steps=6000, burn=2000):
    ens = lsde.simulate(model, scheme, [1.0], n_steps=n_steps, n_replicas=n_replicas,
                        save_every=20, rng=3)
    per_replica = (ens.theta[ens.t >= burn, :, 0] ** 2).mean(axis=0)
    return per_replica.mean(), per_replica.std() / np.sqrt(n_replicas)


@pytest.mark.slow
def test_baoab_double_well_matches_boltzmann_and_high_friction_limit():
    well = DoubleWell(dim=1, barrier=0.5)
    temperature = 0.5
    exact = _boltzmann_x2(well, temperature)
    # dt = 0.05: the O(dt²) bias is ~1e-3 of ⟨x²⟩, below the ~0.5% standard error of 2000
    # replica time averages (independent replicas; 4 standard errors).
    mean, se = _time_average_x2(well, lsde.BAOAB(0.05, temperature, 1.0))
    assert abs(mean - exact) < 4 * se
    # High friction (c = e^-40): BAOAB's positions follow Leimkuhler-Matthews with step
    # dt²/2; at dt = 0.5 (h = 0.125) both carry the same visible bias.
    dt = 0.5
    m_b, se_b = _time_average_x2(well, lsde.BAOAB(dt, temperature, 80.0), n_steps=3000, burn=1000)
    m_l, se_l = _time_average_x2(well, lsde.LeimkuhlerMatthews(dt * dt / 2, temperature),
                                 n_steps=3000, burn=1000)
    assert abs(m_b - m_l) < 4 * np.hypot(se_b, se_l)


@pytest.mark.parametrize("make, match", [
    (lambda: lsde.BAOAB(0.1, 1.0, 0.0), "friction"), (lambda: lsde.BAOAB(0.1, 1.0, -1.0), "friction"),
    (lambda: lsde.BAOAB(0.1, 1.0, 1.0, mass=0.0), "mass"),
    (lambda: lsde.BAOAB(float("nan"), 1.0, 1.0), "dt"),
    (lambda: lsde.BAOAB(0.1, float("inf"), 1.0), "temperature"),
    (lambda: lsde.UnderdampedEuler(0.1, 1.0, 0.0), "friction"),
    (lambda: lsde.GradientFlow(0.0), "dt"), (lambda: lsde.GradientFlow("0.1"), "dt"),
])
def test_bad_parameters_are_named(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_observing_a_state_the_scheme_does_not_carry_is_refused():
    with pytest.raises(ValueError, match="velocity"):
        lsde.simulate(HARMONIC, lsde.Langevin(0.1, 1.0), [0.0], n_steps=2,
                      observe={"v": (1, lambda th, v: v, "velocity")})
    with pytest.raises(ValueError, match="momentum"):
        lsde.simulate(HARMONIC, lsde.GD(0.1), [0.0], n_steps=2,
                      observe={"v": (1, lambda th, v: v, "velocity")})


def _flow_error(scheme, model, theta0, t_end, reference):
    n = int(round(t_end / scheme.step))
    ens = lsde.simulate(model, scheme, theta0, n_steps=n, save_every=n)
    return np.abs(ens.theta[-1, 0] - reference).max()


def test_gradient_flow_is_fourth_order():
    # Order as the slope of log error against log dt, against an independent adaptive
    # solution (scipy's DOP853 at rtol 1e-13): RK4 must give 4 ± 0.3; GD (Euler), the
    # negative control, gives 1.
    well = DoubleWell(dim=2)
    theta0, t_end = np.array([0.3, 0.8]), 2.0
    ref = scipy.integrate.solve_ivp(lambda t, y: -well.grad(y), (0, t_end), theta0,
                                    method="DOP853", rtol=1e-13, atol=1e-14).y[:, -1]
    dts = np.array([0.05, 0.025, 0.0125])
    rk = [_flow_error(lsde.GradientFlow(dt), well, theta0, t_end, ref) for dt in dts]
    gd = [_flow_error(lsde.GD(dt), well, theta0, t_end, ref) for dt in dts]
    slope = lambda e: np.polyfit(np.log(dts), np.log(e), 1)[0]  # noqa: E731
    assert 3.7 < slope(rk) < 4.3, rk
    assert 0.8 < slope(gd) < 1.2, gd
    assert rk[-1] < 1e-7
