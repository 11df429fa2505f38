"""The catapult phase: GD on the uv model against the derived thresholds η·λ₀ = 2 and 4."""
import numpy as np
import pytest

from analysis.catapult import PHASES, classify, ntk_eigenvalue, phase_sweep, thresholds, uv_model
from analysis.curvature import sharpness


def test_uv_phases_match_the_derived_thresholds():
    # width 256: the thresholds are 2 and 4 up to O(1/√m) corrections (the sweep in the figure
    # measures 2.125 and 4.0-4.125 on a grid of 0.125); test 0.1 on either side of each
    m = 256
    model = uv_model(m)
    theta0 = np.random.default_rng(0).normal(0.0, m**-0.25, size=2 * m)
    ratios = np.array([1.0, 1.9, 2.1, 3.0, 3.9, 4.3])
    res = phase_sweep(model, theta0, ratios, n_steps=600)
    assert [PHASES[p] for p in res["phase"]] == ["monotone", "monotone", "catapult", "catapult",
                                                 "catapult", "divergent"]
    assert thresholds(ratios, res["phase"]) == (2.1, 4.3)
    # monotone runs keep their curvature (lazy); a catapult ends flatter, below the edge 2/η
    np.testing.assert_allclose(res["final_eta_sharpness"][:2], ratios[:2], rtol=0.05)
    assert np.all(res["final_eta_sharpness"][2:5] < 2.0) and np.isnan(res["final_eta_sharpness"][5])
    assert res["peak_loss"][3] > 1 and res["peak_loss"][0] == 1
    # λ₀ is the NTK eigenvalue ‖u‖² + ‖v‖² (one sample, x = 1), close to the sharpness
    assert res["lam0"] == pytest.approx(theta0 @ theta0, rel=1e-10)
    assert sharpness(model, theta0).sharpness == pytest.approx(res["lam0"], rel=0.1)


def test_classify_and_negative_controls():
    assert classify([1.0, 0.5, 0.25], False) == "monotone"
    assert classify([1.0, 2.0, 0.1], False) == "catapult"
    assert classify([1.0, 2.0, 3.0], False) == "divergent"
    assert classify([1.0, 0.5, np.nan], False) == "divergent"
    assert classify([1.0, 0.5, 0.2], True) == "divergent"
    # round-off below 1e-20 of the start does not count as a rise
    assert classify([1.0, 1e-25, 2e-25, 1e-26], False) == "monotone"
    with pytest.raises(TypeError, match="gauss_newton"):
        from models import Quadratic
        ntk_eigenvalue(Quadratic(np.eye(2)), np.zeros(2))
