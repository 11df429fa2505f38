"""The second-order SME and the weak-order harness: slopes of |E_SGD f − E_SDE f| against η.

Closed forms: on ``L = ½hθ²`` with additive noise SGD's mean and variance follow a linear
recursion (discrete Lyapunov) and each SME is an Ornstein-Uhlenbeck process
(:func:`analysis.weak_order.quadratic_moments`). Elsewhere (the double well) both sides are
ensembles and the SDE side is Richardson-extrapolated in ``dt``.
"""
import dataclasses
import json

import numpy as np
import pytest
import sympy as sp

import landscape_sde as lsde
from analysis import weak_order as wo
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from landscape_sde.symbolic import finite_sum
from models import Quadratic

OBS = {"theta": lambda th: th[:, 0], "theta2": lambda th: th[:, 0] ** 2}


def exact(model, method, theta0):
    def values(lr, t):
        mean, cov = wo.quadratic_moments(model, lr, t, theta0, method=method, batch_size=1)
        return {"theta": mean[0], "theta2": mean[0] ** 2 + cov[0, 0]}
    return wo.Exact(values, method)


def within(result, name, target, band):
    """The slope and its whole confidence interval inside ``target ± band``."""
    return all(abs(v - target) <= band for f in result.observables
               for v in (result.slope[name][f], *result.ci[name][f]))


# --- the scheme -----------------------------------------------------------------------------
def test_sme_declares_its_order_and_validates_it():
    assert lsde.SME(0.1, 1).order == {"weak": 1}
    s2 = lsde.SME(0.1, 1, order=2)
    assert s2.order == {"weak": 2} and s2.dt == 0.1
    assert dataclasses.replace(s2, lr=0.05).order == {"weak": 2}  # replace re-validates
    assert json.loads(json.dumps(s2.params()))["order"] == 2
    for bad in (0, 3, 1.5, True, "2", {"strong": 2}):
        with pytest.raises(ValueError, match="order"):
            lsde.SME(0.1, 1, order=bad)


def test_sme2_matches_its_ornstein_uhlenbeck_moments():
    # L = ½θ², C = 1, b = 1 of N = 2 (c_b = 1), η = 0.1, θ0 = 1, t = 1: the SME-2 is the OU
    # process with K = h + ηh²/2 = 1.05. Heun is weak order 2 for additive noise, so with
    # dt = η/4 its bias is ~dt² ~ 6e-4 × O(1); 100,000 replicas give s.e. 6.5e-4 (mean) and
    # 1.9e-4 (variance). Tolerance: 4 s.e. + 1e-3.
    model = Quadratic([[1.0]], [[1.0]], n_samples=2)
    ens = lsde.simulate(model, lsde.SME(0.1, 1, dt=0.025, order=2), [1.0], n_steps=40,
                        n_replicas=100_000, save_every=40, rng=3)
    th = ens.theta[-1, :, 0]
    se_mean, se_var = th.std() / np.sqrt(th.size), th.var() * np.sqrt(2.0 / th.size)
    mean2, cov2 = wo.quadratic_moments(model, 0.1, 1.0, [1.0], method="sme2", batch_size=1)
    mean1, _ = wo.quadratic_moments(model, 0.1, 1.0, [1.0], method="sme1", batch_size=1)
    assert abs(th.mean() - mean2[0]) < 4 * se_mean + 1e-3
    assert abs(th.var() - cov2[0, 0]) < 4 * se_var + 1e-3
    # negative control: the first-order SME's mean (e^{-1}) is 28 s.e. away
    assert abs(th.mean() - mean1[0]) > 20 * se_mean


def test_fokker_planck_of_sme2_uses_the_modified_potential():
    # L = θ²/2, C = 1, η = 0.5, b = 1 of N = 2: the SME-2 is OU with K = 1 + η/2 = 1.25 and
    # D = η/2, stationary variance D/K = 0.2 (SME-1: 0.25). Grid error O(h²) ~ 1e-4.
    model = Quadratic([[1.0]], [[1.0]], n_samples=2)
    grid = Grid([-3.0], [3.0], (600,))
    for order, want in ((1, 0.25), (2, 0.2)):
        p = FokkerPlanck.from_model(model, lsde.SME(0.5, 1, order=order), grid).stationary()
        x = grid.centers()[:, 0]
        assert grid.integrate(p * x**2) / grid.integrate(p) == pytest.approx(want, rel=1e-3)


# --- the harness on the quadratic -----------------------------------------------------------
def test_exact_weak_errors_on_the_quadratic_have_slopes_one_and_two():
    # SGD (discrete Lyapunov) against the OU closed forms of SME-1 and SME-2, C = 1: the noise
    # dominates θ²'s SME-2 error (its variance part, +0.28η², outweighs its mean part, −0.12η²).
    # Slopes (θ, θ²): 1.03/0.95 and 2.03/2.04 at η = 0.025-0.1.
    model = Quadratic([[1.0]], [[1.0]], n_samples=2)
    schemes = {k: exact(model, k, [1.0]) for k in ("sgd", "sme1", "sme2")}
    r = wo.weak_error(model, schemes, OBS, [0.025, 0.05, 0.1], 0.4, None, theta0=[1.0],
                      reference="sgd")
    assert within(r, "sme1", 1.0, 0.1) and within(r, "sme2", 2.0, 0.2)
    assert not within(r, "sme1", 2.0, 0.2)  # negative control
    assert r.stderr["sgd"]["theta"].max() == 0.0  # closed forms carry no sampling error


def test_simulated_smes_against_exact_sgd_on_the_quadratic():
    # The schemes themselves against SGD's exact moments, C = 1e-4, Richardson-extrapolated from
    # dt = η/2 and η/4. 200 replicas at η = 0.2, scaled by η⁻⁴ (51,200 at 0.05): the SME-2
    # error at η = 0.05 (2.3e-4) has s.e. 5e-6, so the fitted slopes carry ~0.04 (90% CI
    # half-width); the exact slopes are 1.07/1.06 and 2.07/2.04.
    model = Quadratic([[1.0]], [[1e-4]], n_samples=2)
    schemes = {"SGD": exact(model, "sgd", [1.0]), "SME-1": lsde.SME(0.1, 1),
               "SME-2": lsde.SME(0.1, 1, order=2)}
    r = wo.weak_error(model, schemes, OBS, [0.05, 0.1, 0.2], 0.4, 200, rng=0, theta0=[1.0],
                      substeps=2)
    assert r.n_replicas["SME-2"] == [51200, 3200, 200]
    assert within(r, "SME-1", 1.0, 0.1) and within(r, "SME-2", 2.0, 0.2)
    assert not within(r, "SME-1", 2.0, 0.2)  # negative control: SME-1 fails the order-2 test
    ex = {k: exact(model, k, [1.0]) for k in ("sgd", "sme2")}
    want = wo.weak_error(model, ex, OBS, [0.05, 0.1, 0.2], 0.4, None, theta0=[1.0],
                         reference="sgd").error["sme2"]["theta"]
    assert np.all(np.abs(r.error["SME-2"]["theta"] - want) < 4 * r.error_se["SME-2"]["theta"])


# --- the harness on the double well ---------------------------------------------------------
def test_slopes_on_the_double_well_against_richardson_references():
    # ℓ_± = (θ² − 1)²/4 ± 0.02(θ + θ²/2): state-dependent noise of s.d. 0.02|1 + θ|. From
    # θ0 = 1.3 to t = 0.4 the deterministic weak-error coefficients are stable over η =
    # 0.025-0.1 (GD against the flows: slopes 1.05 and 2.03). Every side is an ensemble: SGD,
    # and each SME Richardson-extrapolated from dt = η/2, η/4; 2,400 replicas at η = 0.1, ×η⁻⁴.
    x, a, c = sp.symbols("x a c")
    model = finite_sum((x**2 - 1)**2 / 4 + a * x + c * x**2 / 2, [x],
                       {(a, c): [[0.02, 0.02], [-0.02, -0.02]]})
    obs = {"theta": OBS["theta"], "loss": lambda th: (th[:, 0] ** 2 - 1) ** 2 / 4}
    schemes = {"SGD": lsde.SGD(0.1, 1), "SME-1": lsde.SME(0.1, 1), "SME-2": lsde.SME(0.1, 1, order=2)}
    r = wo.weak_error(model, schemes, obs, [0.025, 0.05, 0.1], 0.4, 2400, rng=1, theta0=[1.3],
                      substeps=2)
    assert within(r, "SME-1", 1.0, 0.1) and within(r, "SME-2", 2.0, 0.2)
    assert not within(r, "SME-1", 2.0, 0.2)


# --- sizing and bad input -------------------------------------------------------------------
def test_replica_counts_scale_as_the_slope_needs():
    np.testing.assert_array_equal(wo.replica_counts([0.05, 0.1, 0.2], 100, 1), [1600, 400, 100])
    np.testing.assert_array_equal(wo.replica_counts([0.05, 0.1, 0.2], 100, 2), [25600, 1600, 100])
    np.testing.assert_array_equal(wo.replica_counts([0.1, 0.2], [7, 9], 2), [7, 9])
    with pytest.raises(ValueError, match="max_replicas"):
        wo.replica_counts([0.01, 0.2], 1000, 2, max_replicas=10**6)
    with pytest.raises(ValueError, match="one count per lr"):
        wo.replica_counts([0.1, 0.2], [7], 2)


@pytest.mark.parametrize("change, match", [
    ({"lrs": [0.1, -0.2]}, "lrs"), ({"lrs": [0.1, 0.0]}, "lrs"), ({"lrs": [0.1]}, "lrs"),
    ({"lrs": [0.1, 0.1]}, "lrs"), ({"lrs": [0.1, np.nan]}, "lrs"),
    ({"t_final": 0.0}, "t_final"), ({"t_final": 0.25}, "t_final"),
    ({"n_replicas": 1}, "n_replicas"), ({"reference": "GD"}, "reference"),
    ({"observables": {}}, "observables"), ({"observables": {"f": 3}}, "observables"),
    ({"theta0": [1.0, 2.0]}, "theta0"), ({"level": 1.0}, "level"),
    ({"schemes": {"SGD": lsde.SGD(0.1, 1), "L": lsde.Langevin(0.1, 1.0)}}, "lr"),
    ({"schemes": {"SGD": lsde.SGD(0.1, 1), "SME": lsde.SME(0.1, 3)}}, "batch_size"),
    ({"schemes": {"SGD": lsde.SGD(0.1, 1), "E": wo.Exact(lambda lr, t: {})}}, "closed form"),
])
def test_bad_input_is_rejected_before_any_work(change, match):
    model = Quadratic([[1.0]], [[1.0]], n_samples=2)
    kwargs = dict(model=model, schemes={"SGD": lsde.SGD(0.1, 1), "SME": lsde.SME(0.1, 1)},
                  observables=OBS, lrs=[0.1, 0.2], t_final=0.4, n_replicas=10**9, rng=0,
                  theta0=[1.0], max_replicas=10**10)
    kwargs.update(change)
    with pytest.raises((ValueError, TypeError), match=match):
        wo.weak_error(**kwargs)  # 10⁹ replicas: any run would take minutes
