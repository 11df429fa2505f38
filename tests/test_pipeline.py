"""The driver's compiler pipeline: same results as numba's default, without the per-read
reference counting of record fields."""
import re
import typing

import numpy as np

from landscape_sde._kernels.jit import jit
from landscape_sde._kernels.rng import normal


class Rec(typing.NamedTuple):
    a: np.ndarray
    b: np.ndarray


@jit(inline="always", cache=False)
def _step(th, o, st, r, s0, s1, s2, s3):
    for j in range(th.shape[0]):
        e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        st.a[r, j] = 0.5 * st.a[r, j] + o.a[j] + e
        th[j] += st.a[r, j] - o.b[j]
    return s0, s1, s2, s3


def _loop(th, state, n):
    o = Rec(np.full(th.shape[0], 0.1), np.full(th.shape[0], 0.2))
    s0, s1, s2, s3 = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    for r in range(state.a.shape[0]):
        for _ in range(n):
            for j in range(th.shape[0]):
                o.a[j] = 0.01 * th[j]
            s0, s1, s2, s3 = _step(th, o, state, r, s0, s1, s2, s3)
    return th


plain = jit(_loop, cache=False)
forwarded = jit(_loop, cache=False, forward_records=True)


def test_same_results_as_default_pipeline():
    outs = []
    for f in (plain, forwarded):
        state = Rec(np.zeros((3, 4)), np.zeros((3, 4)))
        outs.append((f(np.ones(4), state, 50), state.a.copy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    assert np.all(np.isfinite(outs[0][0])) and np.any(outs[0][1] != 0)  # the loop did work


def test_fewer_reference_count_operations():
    """Counted in the optimised LLVM IR of the whole function (the step loop held 2-9 pairs
    per step in the driver before): the pipeline must remove some and add none."""
    counts = []
    for f in (plain, forwarded):
        state = Rec(np.zeros((3, 4)), np.zeros((3, 4)))
        f(np.ones(4), state, 1)
        ir = f.inspect_llvm(f.signatures[0])
        counts.append(len(re.findall(r"call void @NRT_incref", ir)))
    assert counts[1] < counts[0]
