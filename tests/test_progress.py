"""Progress bars: tqdm when installed, the plain bar otherwise, the same counts either way, and
no effect on results."""
import io
import sys

import numpy as np
import pytest

import landscape_sde as lsde
from landscape_sde import progress
from landscape_sde.progress import ProgressBar, TqdmBar, progress_bar
from models import Quadratic

pytest.importorskip("tqdm")  # in the test extra: the tqdm path is always tested in CI

QUAD = Quadratic(np.diag([1.0, 4.0]), np.diag([1.0, 0.5]), n_samples=6)  # as test_streaming


@pytest.fixture
def no_tqdm(monkeypatch):
    # A None entry in sys.modules makes `import tqdm.auto` raise ImportError, as if absent.
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


def _drive(bar, n):
    for _ in range(n):
        bar.update()
    bar.close()
    return bar


def test_auto_uses_tqdm_when_installed():
    f = io.StringIO()
    bar = _drive(progress_bar(50, "cells", initial=10, file=f), 40)
    assert isinstance(bar, TqdmBar) and bar.done == 50
    out = f.getvalue()
    assert "10/50 cells" in out and "50/50 cells" in out and "cells/s" in out


def test_auto_falls_back_to_the_plain_bar_without_tqdm(no_tqdm):
    f = io.StringIO()
    bar = _drive(progress_bar(50, "cells", initial=10, file=f), 40)
    assert isinstance(bar, ProgressBar) and bar.done == 50
    assert f.getvalue().splitlines()[-1].startswith("[" + "#" * 30 + "] 50/50 cells")
    with pytest.raises(ImportError, match="tqdm"):
        progress_bar(5, backend="tqdm")


def test_plain_backend_never_uses_tqdm():
    assert isinstance(progress_bar(5, file=io.StringIO(), backend="plain"), ProgressBar)


@pytest.mark.parametrize("backend", ["tqdm", "plain"])
def test_a_log_file_gets_a_few_lines_not_one_per_update(backend):
    # On a non-terminal the bar redraws at most every 10 s: 10,000 fast updates give the
    # first and the last line only (one per update would flood CI logs).
    f = io.StringIO()
    _drive(progress_bar(10_000, "steps", file=f, backend=backend), 10_000)
    draws = f.getvalue().replace("\r", "\n").strip().splitlines()
    assert len([d for d in draws if d.strip()]) == 2, draws


def test_plain_rate_excludes_units_done_before_the_run(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    bar = ProgressBar(100, "cells", initial=60, file=io.StringIO())
    now[0] = 104.0
    bar.done = 80  # 20 cells in this run, in 4 s: 5/s, 20 left -> ETA 4 s
    assert bar.text().endswith("80/100 cells  5/s  ETA 4 s")  # 80/4 = 20/s would be wrong


def test_bad_backend_is_named():
    with pytest.raises(ValueError, match=r"backend: expected one of .*'tqdm'.* got 'rich'"):
        progress_bar(5, backend="rich")


@pytest.mark.parametrize("tqdm_installed", [True, False])
def test_progress_keeps_paths_bit_identical(tqdm_installed, monkeypatch, capsys):
    if not tqdm_installed:
        monkeypatch.setitem(sys.modules, "tqdm", None)
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    kw = dict(n_steps=120, n_replicas=50, save_every=1, rng=7)
    sgd = lsde.SGD(lr=0.1, batch_size=2)
    a = lsde.simulate(QUAD, sgd, [1.0, 1.0], **kw)
    b = lsde.simulate(QUAD, sgd, [1.0, 1.0], progress=True, **kw)
    np.testing.assert_array_equal(a.theta, b.theta)
    err = capsys.readouterr().err
    # the same "done/total unit" text from both bars; tqdm's rate reads "steps/s"
    assert err.count("120/120 steps") == 1 and ("steps/s" in err) == tqdm_installed


def test_sweep_reports_cells_through_the_same_bar(tmp_path, capsys):
    pytest.importorskip("xarray")
    lsde.sweep(_cell, {"x": [1.0, 2.0, 3.0]}, tmp_path / "s.zarr", seed=0)
    err = capsys.readouterr().err
    assert "3/3 cells" in err


def _cell(x, rng):
    return {"y": x + np.random.default_rng(rng).normal()}
