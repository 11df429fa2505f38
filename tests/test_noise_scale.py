"""Noise scale g = η(N/b − 1)/(1 − μ) and the equivalence of η-decay and b-growth schedules.

Statistical tolerance: 4 standard errors of the difference of two independent ensembles
(32 replicas each, SE from the spread across replicas); the negative control (no decay) is
off by > 5 SE with these seeds.
"""
import numpy as np
import pytest

import landscape_sde as lsde
from analysis import noise_scale as ns
from models.deep_linear import DeepLinearNetwork


def test_noise_scale_formula_and_inverses():
    assert ns.noise_scale(0.1, 8, 256) == pytest.approx(0.1 * 31)
    assert ns.noise_scale(0.1, 8, 256, momentum=0.9) == pytest.approx(31.0)
    assert ns.noise_scale(0.1, 256, 256) == 0.0
    # b ≪ N: g ≈ ηN/(b(1 − μ))
    assert ns.noise_scale(0.1, 10, 10**6, 0.5) == pytest.approx(0.1 * 10**5 / 0.5, rel=1e-4)
    for mu in (0.0, 0.9):
        g = ns.noise_scale(0.05, 16, 1000, mu)
        assert ns.batch_size_for_noise_scale(g, 0.05, 1000, mu) == 16
        assert ns.batch_size_for_noise_scale(g, 0.05, 1000, mu, integer=False) == pytest.approx(16)
        assert ns.lr_for_noise_scale(g, 16, 1000, mu) == pytest.approx(0.05)
    # Decay η by α ≡ grow b by ≈ α (exactly for b ≪ N).
    assert ns.batch_growth_schedule([0.1, 0.05, 0.025], 10, 10**6) == [10, 20, 40]
    np.testing.assert_allclose(ns.lr_decay_schedule([10, 20, 40], 0.1, 10**6), [0.1, 0.05, 0.025],
                               rtol=1e-4)


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        ns.noise_scale(0.1, 300, 256)
    with pytest.raises(ValueError, match="momentum"):
        ns.noise_scale(0.1, 8, 256, momentum=1.0)
    with pytest.raises(ValueError, match="lr"):
        ns.noise_scale(-0.1, 8, 256)
    with pytest.raises(ValueError, match="stages"):
        ns.run_schedule(DeepLinearNetwork.teacher_student([2, 2], 8, rng=0), [], np.zeros(4))
    with pytest.raises(TypeError, match="stages"):
        ns.run_schedule(DeepLinearNetwork.teacher_student([2, 2], 8, rng=0), [(lsde.GD(0.1), 1)],
                        np.zeros(4))


def test_schedule_chains_stages_from_the_previous_state():
    net = DeepLinearNetwork.teacher_student([2, 2], 8, noise=0.1, rng=0)
    th0 = net.init(rng=0)
    s = ns.run_schedule(net, [(lsde.SGD(0.1, 2), 1), (lsde.SGD(0.1, 4), 2)], th0, n_replicas=3, rng=7)
    np.testing.assert_array_equal(s.updates, [0, 4, 6, 8])
    np.testing.assert_allclose(s.epochs, [0, 1, 2, 3])
    # The second stage is one simulate call from the first stage's end, with the 2nd child seed.
    child = np.random.SeedSequence(7).spawn(2)[1]
    ens = lsde.simulate(net, lsde.SGD(0.1, 4), s.theta[1], n_steps=4, n_replicas=3, save_every=2,
                        rng=child)
    np.testing.assert_array_equal(ens.theta[1:], s.theta[2:])


@pytest.fixture(scope="module")
def schedules():
    net = DeepLinearNetwork.teacher_student([4, 4, 4, 4], 256, noise=1.0, n_test=1024, rng=0)
    th0 = net.init(rng=1)
    n, b0, lr0, epochs = 256, 8, 0.04, 5
    lrs = [lr0, lr0 / 2, lr0 / 4]
    bs = ns.batch_growth_schedule(lrs, b0, n)
    decay = ns.run_schedule(net, [(lsde.SGD(x, b0), epochs) for x in lrs], th0, n_replicas=32, rng=1)
    growth = ns.run_schedule(net, [(lsde.SGD(lr0, b), epochs) for b in bs], th0, n_replicas=32, rng=2)
    const = ns.run_schedule(net, [(lsde.SGD(lr0, b0), 3 * epochs)], th0, n_replicas=32, rng=3)
    return net, bs, decay, growth, const


def _z(a, b):
    se = np.hypot(a.std(-1, ddof=1), b.std(-1, ddof=1)) / np.sqrt(a.shape[-1])
    return (a.mean(-1) - b.mean(-1)) / se


def test_lr_decay_and_batch_growth_match_per_epoch(schedules):
    net, bs, decay, growth, const = schedules
    assert bs == [8, 16, 29]  # g = 1.24, 0.62, 0.31 against 1.24, 0.60, 0.31
    assert decay.epochs.shape == growth.epochs.shape
    np.testing.assert_allclose(growth.epochs, decay.epochs, atol=0.11)  # b = 29: 9 × 29 = 261
    z = _z(decay.loss[1:], growth.loss[1:])
    assert np.all(np.abs(z) < 4), z
    test_d = np.array([net.test_loss(t) for t in decay.theta[-1]])
    test_g = np.array([net.test_loss(t) for t in growth.theta[-1]])
    assert abs(_z(test_d, test_g)) < 4
    # Fewer updates for growing b: 5 × (32 + 16 + 9) against 5 × 3 × 32.
    assert growth.n_updates == 285 and decay.n_updates == 480


def test_negative_control_without_decay_differs(schedules):
    net, bs, decay, growth, const = schedules
    z_train = _z(decay.loss[-5:].mean(0), const.loss[-5:].mean(0))
    test_d = np.array([net.test_loss(t) for t in decay.theta[-1]])
    test_c = np.array([net.test_loss(t) for t in const.theta[-1]])
    assert z_train < -5 and _z(test_d, test_c) < -4
