"""First passages into a set inside the compiled loop (landscape_sde.passage): exact against
the saved trajectories, ensemble MFPTs against the Fokker-Planck backward solve within
standard errors (1-D level, 2-D ball, 2-D predicate), stopping on arrival, bad input."""
import numpy as np
import pytest

import landscape_sde as lsde
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from landscape_sde.passage import Ball, Level, Predicate
from models import DoubleWell


@lsde.jit
def diagonal_half_plane(theta):
    """θ_0 + θ_1 > 0.8: a set no Level or Ball describes."""
    return theta[0] + theta[1] > 0.8


@lsde.jit
def returns_float(theta):
    return theta[0] + 1.0


def not_jitted(theta):
    return theta[0] > 0


def _first_index(ens, target):
    """NumPy reference: first saved step in the set (save_every=1), −1 if never."""
    inside = target.contains(ens.theta)  # (n_saved, n_replicas)
    hit = inside.any(axis=0)
    return np.where(hit, ens.t[np.argmax(inside, axis=0)], -1)


@pytest.mark.parametrize("target", [Level(0, 0.2), Level(0, -0.2, "below"),
                                    Ball([1.0, 0.0], 0.5), Predicate(diagonal_half_plane)],
                         ids=["above", "below", "ball", "predicate"])
def test_first_passage_exact_against_trajectories(target):
    # Same seed, same paths: the step the loop records is the first saved step (every step
    # saved) that the NumPy membership test puts in the set. Exact, no tolerance.
    model = DoubleWell(dim=2)
    x0 = [-1.0, 0.0] if target != Level(0, -0.2, "below") else [1.0, 0.0]
    kw = dict(n_steps=1000, n_replicas=40, rng=3)
    scheme = lsde.Langevin(dt=0.01, temperature=0.6)
    full = lsde.simulate(model, scheme, x0, **kw)
    expect = _first_index(full, target)
    assert 5 < (expect >= 0).sum() < 40  # some arrive, some not: both branches exercised
    for stop in (False, True):
        got = lsde.simulate(model, scheme, x0, stream=lsde.Streaming(target=target, stop=stop),
                            **kw).stats["first_passage"]
        np.testing.assert_array_equal(got, expect)


def _ensemble_mfpt(model, scheme, x0, target, n, n_steps, seed):
    ens = lsde.simulate(model, scheme, x0, n_steps=n_steps, n_replicas=n, rng=seed,
                        stream=lsde.Streaming(coords=(), target=target, stop=True))
    k = ens.stats["first_passage"]
    assert (k >= 0).all() and not ens.diverged.any()  # every replica arrived; none diverged
    tau = k * scheme.step
    return tau.mean(), tau.std(ddof=1) / np.sqrt(n)


# Tolerances: |ensemble − FP| < 3.5 s.e. (s.e. from the sample itself, ~3.2% at n = 1000 for a
# near-exponential τ) plus the known biases, each ≲ 1%: Euler-Maruyama at dt = 1e-3 is weak
# order 1 (O(dt) rate error), the chain checked once per step overshoots the boundary by
# ~0.58 √(2 T dt) ≈ 0.02 (Siegmund), which moves τ(x0) by |τ'| · 0.02 ≪ τ because the boundary
# lies past the saddle where τ is flat, and the FP grid error is second order (≲ 1e-3 here).
def _check(mean, se, tau_fp, tau_wrong):
    assert abs(mean - tau_fp) < 3.5 * se + 0.02 * tau_fp, (mean, se, tau_fp)
    # negative control: the FP MFPT at a 20% higher temperature is far outside the band
    assert abs(mean - tau_wrong) > 3.5 * se + 0.02 * tau_fp, (mean, se, tau_wrong)


def test_mfpt_level_1d_against_backward_solve():
    model, T = DoubleWell(dim=1), 0.4
    target = Level(0, 0.3)
    grid = Grid([-2.5], [2.5], (1000,))
    x = grid.axes()[0]
    i = np.argmin(np.abs(x + 1))
    fp = lambda temp: FokkerPlanck(grid, temp, potential=lambda p: model.loss(p.T))  # noqa: E731
    tau_fp = fp(T).mfpt(target.contains)[i]
    tau_wrong = fp(1.2 * T).mfpt(target.contains)[i]
    scheme = lsde.Langevin(dt=1e-3, temperature=T)
    mean, se = _ensemble_mfpt(model, scheme, [x[i]], target, 1000, int(15 * tau_fp / 1e-3), 11)
    _check(mean, se, tau_fp, tau_wrong)


@pytest.mark.parametrize("target", [Ball([1.0, 0.0], 0.4), Predicate(diagonal_half_plane)],
                         ids=["ball", "predicate"])
def test_mfpt_2d_against_backward_solve(target):
    model, T = DoubleWell(dim=2), 0.5
    grid = Grid([-2.2, -1.6], [2.2, 1.6], (176, 128))
    c = grid.centers()
    i = np.argmin(((c - [-1.0, 0.0]) ** 2).sum(axis=1))
    fp = lambda temp: FokkerPlanck(grid, temp, potential=lambda p: (p[:, 0] ** 2 - 1) ** 2  # noqa: E731
                                   + 2 * p[:, 1] ** 2)
    tau_fp = fp(T).mfpt(target.contains).ravel()[i]
    tau_wrong = fp(1.2 * T).mfpt(target.contains).ravel()[i]
    scheme = lsde.Langevin(dt=1e-3, temperature=T)
    mean, se = _ensemble_mfpt(model, scheme, c[i], target, 1000, int(15 * tau_fp / 1e-3), 12)
    _check(mean, se, tau_fp, tau_wrong)


def test_stop_on_arrival_freezes_and_resumes():
    # Stopped replicas hold their arrival state (in the set, same as at the arrival step), are
    # not diverged, and a run cut into 20 segments (progress=True) gives the same bits.
    model = DoubleWell(dim=2)
    scheme = lsde.Langevin(dt=0.01, temperature=0.6)
    target = Ball([1.0, 0.0], 0.5)
    kw = dict(n_steps=1000, n_replicas=40, rng=3, save_every=100)
    spec = lsde.Streaming(target=target, stop=True)
    ens = lsde.simulate(model, scheme, [-1.0, 0.0], stream=spec, **kw)
    k = ens.stats["first_passage"]
    arrived = k >= 0
    assert arrived.any() and (~arrived).any() and not ens.diverged.any()
    final = ens.theta[-1]
    assert target.contains(final[arrived]).all() and not target.contains(final[~arrived]).all()
    full = lsde.simulate(model, scheme, [-1.0, 0.0], n_steps=1000, n_replicas=40, rng=3)
    np.testing.assert_array_equal(final[arrived], full.theta[k[arrived], np.flatnonzero(arrived)])
    # streaming moments count stopped replicas at their arrival state: the last save's mean
    np.testing.assert_allclose(ens.stats["mean"][-1, :2], final.mean(axis=0), rtol=1e-12)
    resumed = lsde.simulate(model, scheme, [-1.0, 0.0], stream=spec, progress=True, **kw)
    np.testing.assert_array_equal(resumed.stats["first_passage"], k)
    np.testing.assert_array_equal(resumed.theta, ens.theta)
    # negative control: without stop the final states leave the set again for some replicas
    free = lsde.simulate(model, scheme, [-1.0, 0.0], stream=lsde.Streaming(target=target), **kw)
    np.testing.assert_array_equal(free.stats["first_passage"], k)
    assert not np.array_equal(free.theta[-1][arrived], final[arrived])


@pytest.mark.parametrize("make, match", [
    (lambda: Ball([0.0, 0.0], 0.0), "radius.*empty"),
    (lambda: Ball([0.0, 0.0], -1.0), "radius"),
    (lambda: Ball([[0.0, 0.0]], 1.0), "center"),
    (lambda: Ball([np.nan, 0.0], 1.0), "center"),
    (lambda: Level(-1, 0.0), "coord"),
    (lambda: Level(0, np.inf), "value"),
    (lambda: Level(0, 0.0, "left"), "side"),
    (lambda: Predicate(not_jitted), "jit"),
    (lambda: Predicate(lambda th: True), "jit"),
    (lambda: lsde.Streaming(target=(0, 1.0)), "target"),
    (lambda: lsde.Streaming(stop=True), "stop"),
])
def test_bad_sets(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("target, match", [
    (Ball([0.0, 0.0, 0.0], 1.0), r"center must have shape \(2,\)"),
    (Level(2, 0.0), "coord must be < dim = 2"),
    (Predicate(returns_float), "must return a bool"),
])
def test_sets_checked_against_model_before_work(target, match):
    with pytest.raises((TypeError, ValueError), match=match):
        lsde.simulate(DoubleWell(dim=2), lsde.Langevin(dt=0.01, temperature=1.0), [0.0, 0.0],
                      n_steps=10, stream=lsde.Streaming(target=target))


@pytest.mark.parametrize("target", [Level(0, 0.2), Ball([1.0, 0.0], 0.5),
                                    Predicate(diagonal_half_plane)], ids=["level", "ball", "predicate"])
def test_ensemble_with_a_set_saves_and_loads(tmp_path, target):
    ens = lsde.simulate(DoubleWell(dim=2), lsde.Langevin(dt=0.01, temperature=0.6), [-1.0, 0.0],
                        n_steps=50, n_replicas=4, rng=0, stream=lsde.Streaming(target=target, stop=True))
    ens.save(tmp_path / "e.npz")
    back = lsde.Ensemble.load(tmp_path / "e.npz")
    np.testing.assert_array_equal(back.stats["first_passage"], ens.stats["first_passage"])
    assert back.meta["stream"]["target"]["set"] == type(target).__name__
