"""The sharp/flat finite sum of models.sharp_flat: its geometry and noise in closed form, and
SGD's escape from its flat minimum against the SME's backward solve."""
import numpy as np
import pytest

import landscape_sde as lsde
from landscape_sde.fokker_planck import FokkerPlanck, Grid
from landscape_sde.passage import Level
from models.sharp_flat import sharp_flat_geometry, sharp_flat_loss, sharp_flat_potential, sharp_flat_well


@pytest.fixture(scope="module")
def setup():
    return sharp_flat_geometry(), sharp_flat_well(rng=0)


def test_geometry_and_curvature_proportional_noise(setup):
    geo, model = setup
    pot = sharp_flat_potential()
    for name, depth in (("sharp", 0.0), ("flat", 0.0), ("saddle", 1.0)):
        t = np.array([geo[f"theta_{name}"]])
        h = geo[f"h_{name}"]
        assert model.loss(t) == pytest.approx(depth, abs=1e-12)
        assert pot.loss(t) == pytest.approx(depth, abs=1e-12)
        assert abs(model.grad(t)[0]) < 1e-12
        assert model.hessian(t)[0, 0] == pytest.approx(h, rel=1e-12)
        g = model.sample_grads(t)[:, 0]
        assert g.var() == pytest.approx(geo["fisher"] * abs(h), rel=1e-12)  # C = F |L''|
    assert sharp_flat_loss(np.array([0.3])) == pytest.approx(model.loss([0.3]), rel=1e-13)
    # finite differences of the mean loss against the model's gradient, off the critical points
    t, e = 0.37, 1e-6
    fd = (model.loss([t + e]) - model.loss([t - e])) / (2 * e)
    assert model.grad(np.array([t]))[0] == pytest.approx(fd, rel=1e-7)
    # negative control: away from the critical points the noise is not F |L''|
    t = np.array([0.4])
    assert abs(model.sample_grads(t)[:, 0].var() / (geo["fisher"] * abs(model.hessian(t)[0, 0])) - 1) > 0.05


def test_sgd_escape_from_flat_minimum_against_sme_backward_solve(setup):
    # 1/ε = 6 (η = 1/60): SGD's mean escape time from the flat minimum to the sharp one
    # against the SME's FP backward solve. 600 replicas: s.e. ≈ 4%; tolerance 3.5 s.e. plus
    # 5% for the SME's O(η) error (the figure measures |z| < 2 over 1/ε = 4..12).
    geo, model = setup
    eta = 1 / (6 * geo["fisher"])
    target = Level(0, geo["theta_sharp"])
    grid = Grid([-3.0], [2.0], (1000,))
    i = np.argmin(np.abs(grid.axes()[0] - geo["theta_flat"]))
    tau_fp = FokkerPlanck.from_model(model, lsde.SME(eta, 1, replace=True), grid).mfpt(target.contains)[i]
    n_steps = int(10 * tau_fp / eta)
    ens = lsde.simulate(model, lsde.SGD(lr=eta, batch_size=1, replace=True), [geo["theta_flat"]],
                        n_steps=n_steps, n_replicas=600, save_every=n_steps, rng=4,
                        stream=lsde.Streaming(coords=(), target=target, stop=True))
    k = ens.stats["first_passage"]
    assert (k >= 0).all()
    tau = k * eta
    mean, se = tau.mean(), tau.std(ddof=1) / np.sqrt(tau.size)
    assert abs(mean - tau_fp) < 3.5 * se + 0.05 * tau_fp, (mean, se, tau_fp)
    # negative control: Langevin at the matched temperature escapes ≥ 5x sooner (it sees only
    # the barrier); the band above excludes it
    T = (geo["h_flat"] + geo["h_sharp"]) / (4 * 6)
    tau_lan = FokkerPlanck(grid, T, potential=lambda p: sharp_flat_loss(p[:, 0])).mfpt(target.contains)[i]
    assert tau_fp > 5 * tau_lan and abs(mean - tau_lan) > 3.5 * se + 0.05 * tau_fp


@pytest.mark.parametrize("kw, match", [({"kappa": 1.0}, "kappa"), ({"kappa": 0.0}, "kappa"),
                                       ({"sigma": -1.0}, "sigma"), ({"n_samples": 1}, "n_samples")])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        sharp_flat_well(**kw)
