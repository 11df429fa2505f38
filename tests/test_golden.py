"""Every scheme reproduces, bit for bit, the paths the engine produced before its redesign
(recorded by ``tests/golden/cases.py`` at commit b7c52c5)."""
import numpy as np
import pytest

from tests.golden import cases as golden

GOLDEN = np.load(golden.PATH)
CASES = golden.cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_paths_are_bit_identical_to_the_recorded_engine(name):
    got = golden.run(name, *CASES[name])
    want = {k: GOLDEN[k] for k in GOLDEN.files if k.startswith(f"{name}/")}
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_golden_cases_are_not_trivial():
    # Negative controls: another seed changes a stochastic path, so the equality above is not
    # automatic; GD's divergent case did diverge.
    other = golden.run("x", *CASES["sgd_without"], rng=54321)["x/theta"]
    assert not np.array_equal(other, GOLDEN["sgd_without/theta"])
    assert (GOLDEN["gd_diverge/diverged_at"] > 0).all()
