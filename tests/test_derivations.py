"""The derivation registry: all pass, and a derivation from a wrong premise fails."""
import io
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from analysis import derivations, stationary


def test_command_runs_every_derivation_and_passes():
    res = subprocess.run([sys.executable, "-m", "analysis.derivations"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    n = len(derivations.REGISTRY)
    assert f"{n} passed, 0 failed" in res.stdout
    assert res.stdout.count("[PASS]") == n


def test_latex_output():
    out = io.StringIO()
    assert derivations.report(derivations.run(["euler_maruyama_variance"]), latex=True, out=out)
    assert "\\frac" in out.getvalue()


def test_wrong_premise_fails(monkeypatch):
    # Negative control: the continuum variance T/h claimed for the Euler-Maruyama chain.
    def wrong_em():
        h, T = 2.0, 0.5
        return derivations.Derivation(
            "wrong_em", "continuum answer for the discrete chain", sp.Symbol("V"),
            [derivations.Check("T/h vs exact EM", T / h,
                               float(stationary.euler_maruyama_covariance([[h]], [[T]], 0.25)[0, 0]))])

    monkeypatch.setitem(derivations.REGISTRY, "wrong_em", wrong_em)
    assert derivations.main(["wrong_em"]) == 1
    x = sp.Symbol("x", positive=True)
    assert not derivations.identity("not an identity", sp.sqrt(x**2) - x + x**2).passed
    assert derivations.identity("an identity", sp.sqrt(x**2) - x).passed


def test_unknown_name_is_an_error():
    with pytest.raises(ValueError, match="unknown derivations"):
        derivations.run(["no_such_thing"])


def test_momentum_result_has_the_edge_of_stability():
    # The derived heavy-ball variance diverges at η h = 2 + 2μ.
    d = derivations.sgd_momentum_lyapunov()
    eta, h, C, mu = sp.symbols("eta h C mu", positive=True)
    denominator = sp.denom(sp.together(d.result.rhs))
    assert sp.solve(denominator.subs({h: 1, mu: sp.Rational(1, 2)}), eta) == [3]
    assert np.isclose(float(d.result.rhs.subs({eta: 0.5, h: 1.0, C: 1.0, mu: 0.5})),
                      stationary.discrete_lyapunov([[1.0]], [[1.0]], 0.5, 0.5)[0, 0])
