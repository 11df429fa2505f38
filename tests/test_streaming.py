"""Streaming statistics inside the compiled loop (``simulate(..., stream=Streaming(...))``):
equal to NumPy statistics of the full trajectories, bit-identical for any thread count and
chunking, memory independent of ``n_steps``."""
import importlib

import numba
import numpy as np
import pytest

import landscape_sde as lsde
from landscape_sde.streaming import merge_moments
from models import DoubleWell, Quadratic

QUAD = Quadratic(np.diag([1.0, 4.0]), np.diag([1.0, 0.5]), n_samples=6)  # as test_simulate
SGD = lsde.SGD(0.05, 3)
SPEC = lsde.Streaming(histogram=("loss", 0.0, 0.5, 20), loss_below=0.02, abs_above=0.97)


def _run(stream=None, rng=7, n_replicas=300, **kw):
    return lsde.simulate(QUAD, SGD, [1.0, 1.0], n_steps=120, n_replicas=n_replicas,
                         save_every=1, rng=rng, stream=stream, **kw)


def test_statistics_equal_numpy_on_the_full_run():
    full, st = _run(), _run(SPEC)
    s = st.stats
    np.testing.assert_array_equal(s["t"], full.t)
    assert s["count"].tolist() == [300] * full.t.size
    values = np.concatenate([full.theta, full.loss[..., None]], axis=2)  # (n_saved, R, 3)
    # Welford + Chan merging against NumPy's pairwise sums: both are exact to ~10 ulps here
    # (values O(1), 300 replicas); 1e-12 relative is 4 orders above that and far below any
    # real discrepancy (a wrong ddof alone changes the variance by 1/300).
    np.testing.assert_allclose(s["mean"], values.mean(axis=1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s["var"], values.var(axis=1, ddof=1), rtol=1e-12, atol=1e-15)
    # integer statistics must agree exactly
    edges = np.linspace(0.0, 0.5, 21)
    hist = np.array([np.histogram(l, bins=edges)[0] for l in full.loss])
    inside = (full.loss >= 0.0) & (full.loss < 0.5)
    np.testing.assert_array_equal(s["hist"], hist)
    np.testing.assert_array_equal(s["hist_over"], (full.loss >= 0.5).sum(axis=1))
    assert np.all(s["hist"].sum(axis=1) + s["hist_over"] + s["hist_under"] == 300) and inside.any()
    below = full.loss < 0.02
    expect = np.where(below.any(axis=0), below.argmax(axis=0), -1)
    np.testing.assert_array_equal(s["first_passage_loss"], expect)
    above = np.abs(full.theta).max(axis=2) > 0.97
    expect = np.where(above.any(axis=0), above.argmax(axis=0), -1)
    np.testing.assert_array_equal(s["first_passage_level"], expect)
    assert (s["first_passage_loss"] >= 0).mean() > 0.5 and (s["first_passage_level"] >= 0).any()
    # a histogram of a coordinate instead of the loss
    coord = _run(lsde.Streaming(histogram=(0, 0.0, 1.25, 8))).stats  # θ₀ = 1 inside: [lo, hi)
    edges = np.linspace(0.0, 1.25, 9)
    np.testing.assert_array_equal(coord["hist"], [np.histogram(x, bins=edges)[0]
                                                  for x in full.theta[:, :, 0]])
    np.testing.assert_array_equal(coord["hist_under"], (full.theta[:, :, 0] < 0).sum(axis=1))
    assert coord["hist_under"].any()
    # the final-state snapshot is the last saved row, bit for bit
    np.testing.assert_array_equal(st.theta[0], full.theta[-1])
    assert st.t.tolist() == [120] and st.theta.shape == (1, 300, 2)
    # negative controls: another seed, and a variance with the wrong normalisation, both fail
    other = _run(SPEC, rng=8).stats
    assert np.abs(other["mean"][-1] - s["mean"][-1]).max() > 1e-3
    assert not np.allclose(s["var"], values.var(axis=1), rtol=1e-12)


@pytest.mark.parametrize("n_chunks", [1, 2, 3, 5])
def test_bit_identical_for_any_thread_count_and_chunking(monkeypatch, n_chunks):
    reference = _run(SPEC, n_replicas=100)  # at most 32 blocks: 25 blocks of 4 replicas
    # The pool runs nogil calls: more Python threads than numba threads is fine here.
    monkeypatch.setattr(importlib.import_module("landscape_sde.simulation").numba, "get_num_threads", lambda: n_chunks)
    other = _run(SPEC, n_replicas=100)
    for name, value in reference.stats.items():
        np.testing.assert_array_equal(other.stats[name], value, err_msg=name)
    np.testing.assert_array_equal(other.theta, reference.theta)


def test_numba_thread_count_does_not_change_statistics():
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _run(SPEC, n_replicas=64)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = _run(SPEC, n_replicas=64)
    finally:
        numba.set_num_threads(before)
    for name in one.stats:
        np.testing.assert_array_equal(one.stats[name], many.stats[name], err_msg=name)


def test_diverged_replicas_leave_the_moments():
    model = DoubleWell(dim=1)
    scheme = lsde.Langevin(0.05, 0.5)
    theta0 = np.where(np.arange(40)[:, None] % 4 == 1, 30.0, 1.0)  # every 4th overflows early
    kw = dict(n_steps=200, n_replicas=40, save_every=20, rng=3)
    full = lsde.simulate(model, scheme, theta0, **kw)
    st = lsde.simulate(model, scheme, theta0, stream=lsde.Streaming(blocks=7), **kw)
    assert full.diverged.sum() == 10
    np.testing.assert_array_equal(st.stats["count"], np.isfinite(full.loss).sum(axis=1))
    np.testing.assert_allclose(st.stats["mean"][:, 0], np.nanmean(full.theta[:, :, 0], axis=1),
                               rtol=1e-12)
    np.testing.assert_allclose(st.stats["var"][:, 1], np.nanvar(full.loss, axis=1, ddof=1),
                               rtol=1e-12)
    np.testing.assert_array_equal(st.diverged_at, full.diverged_at)
    assert np.all(np.isnan(st.theta[0, full.diverged]))


def test_memory_does_not_grow_with_n_steps_and_segments_change_nothing():
    kw = dict(n_replicas=50, save_at=[0, 10, 20], rng=1, stream=SPEC)
    short = lsde.simulate(QUAD, SGD, [1.0, 1.0], n_steps=20, **kw)
    long = lsde.simulate(QUAD, SGD, [1.0, 1.0], n_steps=5000, **kw)
    for name, value in short.stats.items():
        if not name.startswith("first_passage"):
            assert long.stats[name].shape[0] == (4 if name != "coords" else 2) or name == "hist_edges"
    assert long.theta.shape == short.theta.shape == (1, 50, 2)
    # progress bars and observers split the run into segments: same statistics, bit for bit
    seg = lsde.simulate(QUAD, SGD, [1.0, 1.0], n_steps=5000, progress=True,
                        observe={"x": (700, lambda th: th[:, 0])}, **kw)
    for name, value in long.stats.items():
        np.testing.assert_array_equal(seg.stats[name], value, err_msg=name)


def test_progress_bar_keeps_paths_bit_identical(capsys):
    a = _run()
    b = _run(progress=True)
    np.testing.assert_array_equal(a.theta, b.theta)
    err = capsys.readouterr().err
    assert "120/120 steps" in err and err.count("120/120") == 1  # tqdm or plain alike


def test_merge_in_any_blocking_matches_numpy():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(5, 1000, 2))  # (saves, samples, cols)
    for cuts in ([0, 1000], [0, 1, 500, 1000], [0, 0, 333, 999, 1000]):
        blocks = [x[:, a:b] for a, b in zip(cuts[:-1], cuts[1:])]
        cnt = np.array([[blk.shape[1] for blk in blocks]] * 5)
        mean = np.stack([blk.mean(axis=1) if blk.shape[1] else np.zeros((5, 2)) for blk in blocks], 1)
        m2 = np.stack([((blk - blk.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) if blk.shape[1]
                       else np.zeros((5, 2)) for blk in blocks], 1)
        n, mu, M2 = merge_moments(cnt, mean, m2)
        assert n.tolist() == [1000] * 5
        np.testing.assert_allclose(mu, x.mean(axis=1), rtol=1e-13)
        np.testing.assert_allclose(M2 / 999, x.var(axis=1, ddof=1), rtol=1e-12)


def test_round_trip_and_bad_arguments(tmp_path):
    st = _run(SPEC, n_replicas=10)
    st.save(tmp_path / "s.npz")
    back = lsde.Ensemble.load(tmp_path / "s.npz")
    for name, value in st.stats.items():
        np.testing.assert_array_equal(back.stats[name], value)
    with pytest.raises(TypeError, match="stream"):
        _run("moments")
    with pytest.raises(ValueError, match="coords"):
        _run(lsde.Streaming(coords=[2]))
    with pytest.raises(ValueError, match="histogram"):
        lsde.Streaming(histogram=("loss", 1.0, 0.0, 5))
    with pytest.raises(ValueError, match="histogram"):
        _run(lsde.Streaming(histogram=(5, 0.0, 1.0, 5)))
    with pytest.raises(ValueError, match="abs_above"):
        lsde.Streaming(abs_above=-1.0)
    with pytest.raises(ValueError, match="blocks"):
        lsde.Streaming(blocks=0)
    with pytest.raises(TypeError, match="progress"):
        _run(progress="yes")


def test_abs_above_beyond_the_divergence_bound_is_refused():
    # the divergence check stops a replica first, so such a passage could never be recorded
    with pytest.raises(ValueError, match="abs_above"):
        lsde.simulate(Quadratic(np.eye(2)), lsde.GD(0.1), [1.0, 1.0], n_steps=5,
                      divergence_bound=10.0, stream=lsde.Streaming(abs_above=10.0))
