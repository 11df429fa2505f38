"""The README's example must run and say what it claims."""
import pathlib
import re

import numpy as np


def test_readme_example_runs_and_matches_theory(capsys):
    text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    sim = np.cov(namespace["ens"].theta[-1].T)
    c_b = (8 - 2) / (2 * (8 - 1))  # b = 2 distinct of N = 8 (physics.md §2)
    theory = namespace["discrete_lyapunov"](namespace["H"], c_b * namespace["C"], 0.3)
    # 40,000 near-Gaussian states: the standard error of a covariance entry is ~0.7% of the
    # diagonal scale; allow 4%.
    np.testing.assert_allclose(sim, theory, atol=0.04 * np.abs(np.diag(theory)).max())
    assert capsys.readouterr().out.count("[[") == 2
