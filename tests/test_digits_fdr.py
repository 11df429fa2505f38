"""Fluctuation-dissipation relations of SGD on the digits (softmax regression, all 1,438
training images), the set-ups of figures/digits_fdr.py at one (η, b) each.

Both relations are exact at stationarity, so the tolerance is statistical only: the sides must
agree within 4 batch-means standard errors (10 blocks × 2 replicas) and their ratio within ±4%
(measured s.e. 0.7–1.2%). The negative control is the same run read
with the wrong batch size in the noise term: its right side is off by ~2× and must fail.
"""
import numpy as np
import pytest

import landscape_sde as lsde
from analysis.fdr import FDRObserver, linear_learning_relations, yaida_relations

pytest.importorskip("sklearn")
from figures._digits import digits_model, one_blas_thread  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _blas():
    with one_blas_thread():
        yield


def _run(model, lr, b, theta0, wrong_b):
    scheme = lsde.SGD(lr, b)
    right, wrong = FDRObserver(model, scheme, theta0), FDRObserver(model, lsde.SGD(lr, wrong_b), theta0)
    ens = lsde.simulate(model, scheme, theta0, n_steps=12000, n_replicas=2, save_at=[0], rng=1,
                        observe={"fdr": right.spec(50), "wrong": wrong.spec(50)})
    assert not ens.diverged.any()
    return ens, right, wrong


def test_linear_learning_identity_with_one_hot_targets():
    # MSE softmax regression is least squares on one-hot targets: ⟨L⟩ − L* = (η/4)⟨‖g_B‖²⟩.
    # η = 0.005, b = 8: measured ratio 0.989 ± 0.012 (figure digits_fdr, same run).
    model = digits_model(dict(n_train=None, width=0, loss="mse"))
    w_star = model.least_squares()
    ens, right, wrong = _run(model, 0.005, 8, w_star, wrong_b=16)
    rel = linear_learning_relations(ens, right, model.loss(w_star), burn_in=4000)["trace"]
    assert rel.holds and rel.ratio == pytest.approx(1.0, abs=0.04), rel
    bad = linear_learning_relations(ens, wrong, model.loss(w_star), burn_in=4000, name="wrong")["trace"]
    assert not bad.holds and bad.ratio > 1.5, bad


def test_yaida_fdr1_on_cross_entropy():
    # Cross-entropy is not quadratic; FDR1 ⟨θ·∇L⟩ = (η/2)⟨‖g_B‖²⟩ still holds exactly at
    # stationarity, from any fixed origin (here the end of a GD run). η = 0.2, b = 32: measured 0.982 ± 0.007.
    model = digits_model(dict(n_train=None, width=0, loss="cross_entropy", label_noise=0.3,
                              noise_seed=0))
    origin = lsde.simulate(model, lsde.GD(2.0), np.zeros(model.dim), n_steps=6000,
                           save_every=6000).theta[-1, 0]
    ens, right, wrong = _run(model, 0.2, 32, origin, wrong_b=64)
    rel = yaida_relations(ens, right, burn_in=4000)["FDR1"]
    assert rel.holds and rel.ratio == pytest.approx(1.0, abs=0.04), rel
    bad = yaida_relations(ens, wrong, burn_in=4000, name="wrong")["FDR1"]
    assert not bad.holds and bad.ratio > 1.5, bad
