"""landscape_sde.sweep: grid of cells -> zarr store, per-cell seeds, failures, resume after
SIGKILL, process pool and Dask give the stored result of the local run; the CLI."""
import functools
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

from landscape_sde.__main__ import expand_axis, load_config, main, run_sweep  # noqa: E402
from landscape_sde.sweeps import STATUS, cell_seed, sweep  # noqa: E402
from tests.sweep_cells import flaky_cell, sgd_cell, slow_cell  # noqa: E402

GRID = {"lr": [0.1, 0.3, 0.6], "batch_size": [1, 3], "seed": [0, 1]}
DIMS = {"loss_mean": ("t",)}
OBS = ("diverged", "loss_mean", "final_loss")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _same(a, b):
    for name in OBS + ("status",):
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_every_cell_is_stored_with_its_own_seed(tmp_path, capsys):
    ds = sweep(sgd_cell, GRID, tmp_path / "s.zarr", seed=11, dims=DIMS)
    assert dict(ds.sizes) == {"lr": 3, "batch_size": 2, "seed": 2, "t": 7}
    assert ds["loss_mean"].dims == ("lr", "batch_size", "seed", "t")
    np.testing.assert_array_equal(ds["t"].values, np.arange(0, 61, 10))
    # lr = 0.6 on h = 4: |1 − 2.4| > 1, every replica diverges (status "diverged")
    assert (ds["status"].sel(lr=0.6) == STATUS["diverged"]).all()
    assert (ds["status"].sel(lr=[0.1, 0.3]) == STATUS["done"]).all()
    assert "12/12 cells" in capsys.readouterr().err
    # each stored cell equals a direct call with SeedSequence(root, spawn_key=(i, j, k))
    root = np.random.SeedSequence(11)
    for idx in [(0, 0, 0), (1, 1, 0), (1, 0, 1)]:
        params = {k: GRID[k][i] for k, i in zip(GRID, idx)}
        direct = sgd_cell(**params, rng=cell_seed(root, idx))
        np.testing.assert_array_equal(ds["loss_mean"].values[idx], direct["loss_mean"])
    # the seed axis gives distinct replicas (negative control for the seed derivation)
    assert not np.array_equal(ds["loss_mean"].values[0, 0, 0], ds["loss_mean"].values[0, 0, 1])
    meta = ds.attrs
    assert meta["seed_entropy"] == "11" and "zarr" in meta["versions"]


def test_failing_cell_is_recorded_and_the_sweep_goes_on(tmp_path):
    ds = sweep(flaky_cell, {"x": [1, 2, 3]}, tmp_path / "f.zarr", progress=False)
    assert ds["status"].values.tolist() == [STATUS["done"], STATUS["failed"], STATUS["done"]]
    assert "RuntimeError: cell x=2 is broken" in str(ds["error"].values[1])
    assert str(ds["error"].values[0]) == "" and np.isnan(ds["y"].values[1])
    y = ds["y"].values.copy()
    again = sweep(flaky_cell, {"x": [1, 2, 3]}, tmp_path / "f.zarr", progress=False,
                  retry_failed=True)  # reruns only x = 2 (still failing)
    np.testing.assert_array_equal(again["y"].values, y)
    assert again["status"].values[1] == STATUS["failed"]


def test_bad_arguments_and_mismatched_stores(tmp_path):
    with pytest.raises(TypeError, match="grid"):
        sweep(sgd_cell, [0.1], tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="distinct"):
        sweep(sgd_cell, {"lr": [0.1, 0.1]}, tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="rng"):
        sweep(sgd_cell, {"rng": [1]}, tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="processes"):
        sweep(sgd_cell, GRID, tmp_path / "a.zarr", processes=0)
    with pytest.raises(TypeError, match="run_cell"):
        sweep("sgd", GRID, tmp_path / "a.zarr")
    with pytest.raises(TypeError, match="picklable"):
        sweep(lambda lr: {}, {"lr": [1]}, tmp_path / "a.zarr", processes=2)
    with pytest.raises(TypeError, match="store"):
        sweep(sgd_cell, GRID, 3.5)
    small = {"x": [1, 3]}
    sweep(flaky_cell, small, tmp_path / "b.zarr", progress=False)
    with pytest.raises(ValueError, match="different grid"):
        sweep(flaky_cell, {"x": [1, 3, 4]}, tmp_path / "b.zarr", progress=False)
    with pytest.raises(ValueError, match="seed"):
        sweep(flaky_cell, small, tmp_path / "b.zarr", seed=1, progress=False)
    with pytest.raises(ValueError, match="config"):
        sweep(flaky_cell, small, tmp_path / "b.zarr", config={"a": 1}, progress=False)


def _config(tmp_path, store, sleep=0.0):
    path = tmp_path / "sweep.toml"
    path.write_text(
        'cell = "tests.sweep_cells:sgd_cell"\nseed = 3\n'
        f'store = "{store}"\n'
        '[grid]\nlr = {linspace = [0.1, 0.6, 3]}\nbatch_size = [1, 3]\nseed = {range = [0, 2]}\n'
        f'[params]\nn_steps = 60\nsleep = {sleep}\n'
        '[dims]\nloss_mean = ["t"]\n')
    return path


def test_resume_after_sigkill_matches_an_uninterrupted_sweep(tmp_path):
    import zarr
    store = tmp_path / "killed.zarr"
    cfg = _config(tmp_path, store, sleep=0.25)
    proc = subprocess.Popen([sys.executable, "-m", "landscape_sde", "sweep", str(cfg),
                             "--no-progress"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        finished = 0
        while time.monotonic() < deadline and finished < 4:
            time.sleep(0.05)
            try:
                finished = int((zarr.open_group(store, mode="r")["status"][...] > 0).sum())
            except Exception:  # noqa: BLE001 - store not created yet
                finished = 0
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    status = zarr.open_group(store, mode="r")["status"][...]
    done_before = status > 0
    assert 4 <= done_before.sum() < status.size, "the kill must land mid-sweep"
    seconds_before = zarr.open_group(store, mode="r")["seconds"][...]
    # rerun the same command (in this process, same config): only pending cells run
    config = load_config(cfg, ["params.sleep=0.25"])
    resumed = run_sweep(config, progress=False)
    np.testing.assert_array_equal(resumed["seconds"].values[done_before], seconds_before[done_before])
    assert (resumed["status"].values > 0).all()
    clean = run_sweep(load_config(cfg, [f"store={tmp_path / 'clean.zarr'}", "params.sleep=0.25"]),
                      progress=False)
    _same(resumed, clean)


def test_process_pool_stores_the_local_result(tmp_path):
    local = sweep(sgd_cell, GRID, tmp_path / "local.zarr", dims=DIMS, progress=False)
    pooled = sweep(sgd_cell, GRID, tmp_path / "pool.zarr", dims=DIMS, processes=2, progress=False)
    _same(local, pooled)


def test_dask_local_cluster_stores_the_local_result(tmp_path):
    # 2 worker processes: ~7 s here, most of it cluster start-up and loading the compiled loop
    distributed = pytest.importorskip("dask.distributed")
    local = sweep(sgd_cell, GRID, tmp_path / "local.zarr", dims=DIMS, progress=False)
    cfg = _config(tmp_path, tmp_path / "cli-local.zarr")
    cli_local = run_sweep(load_config(cfg), progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  processes=True) as cluster, distributed.Client(cluster) as client:
        remote = sweep(sgd_cell, GRID, tmp_path / "dask.zarr", dims=DIMS, client=client,
                       progress=False)
        # the CLI's --scheduler path: a client of its own on the same cluster
        cli_remote = run_sweep(load_config(cfg, [f"store={tmp_path / 'cli-dask.zarr'}"]),
                               scheduler=cluster.scheduler_address, progress=False)
    _same(local, remote)
    _same(cli_local, cli_remote)


def test_cli_overrides_axes_and_errors(tmp_path, capsys):
    cfg = _config(tmp_path, tmp_path / "cli.zarr")
    config = load_config(cfg, ["grid.lr=[0.1, 0.2]", "params.n_steps=30", "store=x.zarr",
                               "params.tag=fast"])
    assert config["grid"]["lr"] == [0.1, 0.2] and config["params"]["n_steps"] == 30
    assert config["store"] == "x.zarr" and config["params"]["tag"] == "fast"  # not TOML: a string
    assert expand_axis("a", {"range": [0, 3]}) == [0, 1, 2]
    assert expand_axis("a", {"logspace": [-2, 0, 3]}) == pytest.approx([0.01, 0.1, 1.0])
    with pytest.raises(ValueError, match="grid.a"):
        expand_axis("a", {"spline": [1, 2]})
    with pytest.raises(ValueError, match="unknown keys"):
        load_config(cfg, ["grdi.lr=[1]"])
    assert main(["sweep", str(cfg), "grid.lr=[0.1]", "--no-progress"]) == 0
    assert "4 done" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a different grid on the same store: refused, named
        main(["sweep", str(cfg), "grid.lr=[0.2]", "--no-progress"])
    assert "different grid" in capsys.readouterr().err


def test_readme_sweep_example_runs_and_says_what_it_claims(tmp_path, monkeypatch, capsys):
    import pathlib
    import re
    text = (pathlib.Path(ROOT) / "README.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "lsde.sweep(" in b)
    monkeypatch.chdir(tmp_path)  # the example writes example_sweep.zarr in the working dir
    exec(compile(code, "README.md", "exec"), {})
    # η = 0.1, 0.3 < 2/h_max = 0.5 < 0.55: the claim printed by the example, for every b
    ds = xr.open_zarr(tmp_path / "example_sweep.zarr", chunks=None, consolidated=False)
    frac = ds["diverged"].mean("seed").values
    assert np.all(frac[:2] == 0) and np.all(frac[2] == 1)
    assert "[[0. 0. 0.]" in capsys.readouterr().out


def test_example_config_runs_from_the_cli(tmp_path, capsys):
    cfg = os.path.join(ROOT, "examples", "sweep_quadratic.toml")
    config = load_config(cfg, [f"store={tmp_path / 'q.zarr'}", "params.n_steps=100",
                               "params.n_replicas=20", "grid.lr=[0.3, 0.6]", "grid.seed=[0]"])
    ds = run_sweep(config, progress=False)
    assert ds["diverged"].sel(lr=0.3).values.max() == 0
    assert ds["diverged"].sel(lr=0.6).values.min() == 1


def test_status_diverged_only_when_every_replica_diverged_and_reserved_names(tmp_path):
    # A cell where some replicas diverged is data (done); status "diverged" needs all of them.
    # Returning a name the store writes itself ("seconds") fails the cell instead of racing it.
    def cell(x):
        if x == 3:
            return {"diverged": 0.0, "seconds": 99.0}
        return {"diverged": [0.1, 1.0][x - 1]}
    ds = sweep(cell, {"x": [1, 2, 3]}, tmp_path / "d.zarr", progress=False)
    assert ds["status"].values.tolist() == [STATUS["done"], STATUS["diverged"], STATUS["failed"]]
    assert "reserved" in str(ds["error"].values[2]) and ds["seconds"].values[2] < 99.0
    flags = sweep(lambda x: {"diverged": np.array([True, x > 1])}, {"x": [1, 2]},
                  tmp_path / "e.zarr", progress=False, dims={"diverged": ("replica",)})
    assert flags["status"].values.tolist() == [STATUS["done"], STATUS["diverged"]]


# --- data safety of the store ------------------------------------------------------------------
def test_kill_at_every_store_write_resumes_to_the_uninterrupted_store(tmp_path):
    # tests/sweep_cells.py:kill_driver, in a fresh interpreter: a 2x2 sweep of trivial cells
    # (one failing, an array observable with a coordinate) is SIGKILLed just before its n-th
    # write to the file system (zarr files, renames, removals, the lock file), for every n;
    # each is resumed and compared file by file with an uninterrupted sweep. ~25 s here.
    import json
    import zarr
    if not hasattr(os, "fork") or int(zarr.__version__.split(".")[0]) < 3:
        pytest.skip("needs os.fork and zarr 3 (the write hook wraps zarr.storage._local._put)")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c",
                          f"from tests.sweep_cells import kill_driver; kill_driver({str(tmp_path)!r})"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.splitlines()[-1])
    results = report["results"]
    assert report["n_writes"] > 50 and len(results) == report["n_writes"]  # every write point
    bad = [r for r in results if not (r["equal"] and r["all_finished"] and r["seconds_kept"]
                                      and r["calls"] == r["pending_before"] and not r["leftovers"])]
    assert not bad, bad[:5]
    # the kills landed everywhere: before creation finished, mid-sweep, after the last status
    pending = [r["pending_before"] for r in results]
    assert pending[0] == 4 and pending[-1] == 0 and set(pending) == {0, 1, 2, 3, 4}


def test_resume_refuses_another_cell_function(tmp_path):
    small = {"x": [1, 3]}
    store = tmp_path / "c.zarr"
    sweep(flaky_cell, small, store, progress=False)
    with pytest.raises(ValueError, match=r"run_cell: .*name: stored \"tests.sweep_cells."
                                         r"flaky_cell\", given \"tests.sweep_cells.slow_cell\""):
        sweep(functools.partial(slow_cell, sleep=0.0), small, store, progress=False)
    with pytest.raises(ValueError, match="source_sha256: stored .*check_cell=False"):
        sweep(lambda x, rng: {"y": 0.0}, small, store, progress=False)
    # the same function with other partial arguments: the arguments are named
    grid = {"x": [1]}
    sweep(functools.partial(slow_cell, sleep=0.0), grid, tmp_path / "p.zarr", progress=False)
    with pytest.raises(ValueError, match=r"kwargs: stored \{\"sleep\": 0.0\}, given "
                                         r"\{\"sleep\": 0.001\}"):
        sweep(functools.partial(slow_cell, sleep=0.001), grid, tmp_path / "p.zarr",
              progress=False)
    # opt-out: resumes (nothing pending, nothing rerun); the stored fingerprint is kept
    ds = sweep(functools.partial(slow_cell, sleep=0.001), grid, tmp_path / "p.zarr",
               progress=False, check_cell=False)
    assert '"sleep": 0.0}' in ds.attrs["cell"] and ds["status"].values.tolist() == [STATUS["done"]]


def test_second_process_on_the_same_store_is_refused_and_a_dead_owner_s_lock_taken_over(tmp_path):
    import json
    import socket
    from landscape_sde.sweeps import StoreInUseError
    store = tmp_path / "busy.zarr"
    lock = tmp_path / "busy.zarr.lock"
    code = ("from tests.sweep_cells import slow_cell; from landscape_sde.sweeps import sweep; "
            f"sweep(slow_cell, {{'x': [1, 2, 3, 4, 5, 6, 7, 8]}}, {str(store)!r}, progress=False)")
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-c", code], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not ((store / "zarr.json").exists() and lock.exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # the owner's pid is written right after the OS lock is taken
        with pytest.raises(StoreInUseError, match=rf"store: .*busy.zarr is in use by process "
                                                  rf"{proc.pid} on host {socket.gethostname()}"):
            sweep(slow_cell, {"x": [1, 2, 3, 4, 5, 6, 7, 8]}, store, progress=False)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert lock.exists() and json.loads(lock.read_text())["pid"] == proc.pid  # stale, left
    ds = sweep(slow_cell, {"x": [1, 2, 3, 4, 5, 6, 7, 8]}, store, progress=False)  # taken over
    assert (ds["status"].values == STATUS["done"]).all() and not lock.exists()


def test_lock_without_os_locks_takes_over_only_a_dead_pid(tmp_path, monkeypatch):
    # the fallback where flock is missing (Windows) or unsupported: the file is the lock
    import json
    import socket
    from landscape_sde.sweeps import StoreInUseError
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl -> ImportError
    store, lock = tmp_path / "f.zarr", tmp_path / "f.zarr.lock"
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        lock.write_text(json.dumps({"pid": alive.pid, "host": socket.gethostname()}))
        with pytest.raises(StoreInUseError, match=rf"process {alive.pid} .*delete .*f.zarr.lock"):
            sweep(slow_cell, {"x": [1]}, store, progress=False)
    finally:
        alive.kill()
        alive.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    ds = sweep(functools.partial(slow_cell, sleep=0.0), {"x": [1]}, store, progress=False)
    assert ds["status"].values.tolist() == [STATUS["done"]] and not lock.exists()


def test_unusable_store_paths_are_refused_before_any_cell_runs(tmp_path):
    calls = []

    def cell(x):
        calls.append(x)
        return {"y": 1.0}
    (tmp_path / "file.zarr").write_text("not a store")
    with pytest.raises(ValueError, match=r"store: .*file.zarr is an existing file; expected a "
                                         r"directory"):
        sweep(cell, {"x": [1]}, tmp_path / "file.zarr", progress=False)
    with pytest.raises(ValueError, match=r"store: .*file.zarr is a file, not a directory"):
        sweep(cell, {"x": [1]}, tmp_path / "file.zarr" / "s.zarr", progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"store: .*other is a non-empty directory that is not "
                                         r"a zarr store"):
        sweep(cell, {"x": [1]}, tmp_path / "other", progress=False)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    checked = []
    try:  # a read-only directory (root writes it anyway: then only /sys, unwritable for all)
        for where in (readonly, "/sys"):
            try:
                probe = os.path.join(where, "probe")
                os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600))
                os.unlink(probe)
                continue  # writable here: nothing to check
            except OSError:
                pass
            with pytest.raises(PermissionError, match=rf"store: cannot write to {where}"):
                sweep(cell, {"x": [1]}, os.path.join(where, "s.zarr"), progress=False)
            checked.append(where)
    finally:
        readonly.chmod(0o700)
    assert checked or sys.platform != "linux"
    assert calls == []
    # an empty directory is a new store
    (tmp_path / "empty.zarr").mkdir()
    assert sweep(cell, {"x": [1]}, tmp_path / "empty.zarr", progress=False)["y"].values == [1.0]


def test_damaged_store_is_refused_and_a_lost_coordinate_is_rewritten(tmp_path):
    import shutil
    import zarr
    from tests.sweep_cells import KILL_DIMS, KILL_GRID, tiny_cell
    store = tmp_path / "t.zarr"
    ref = sweep(tiny_cell, KILL_GRID, store, seed=5, dims=KILL_DIMS, progress=False)
    t = ref["t"].values.copy()
    # a coordinate created but never written (a kill between, by an earlier version), cell
    # (0, 0) not finished: resuming writes the coordinate before that cell's status
    shutil.rmtree(store / "t" / "c")
    g = zarr.open_group(store, mode="r+")
    g["status"][0, 0] = STATUS["pending"]
    assert np.all(xr.open_zarr(store, consolidated=False)["t"].values == 0)  # lost
    again = sweep(tiny_cell, KILL_GRID, store, seed=5, dims=KILL_DIMS, progress=False)
    np.testing.assert_array_equal(again["t"].values, t)
    np.testing.assert_array_equal(again["curve"].values, ref["curve"].values)
    # a cell whose coordinate differs from the stored one fails instead of being mixed in
    g["status"][1, 0] = STATUS["pending"]
    ds = sweep(functools.partial(_shifted_t, tiny_cell), KILL_GRID, store, seed=5,
               dims=KILL_DIMS, progress=False, check_cell=False)
    assert ds["status"].values[1, 0] == STATUS["failed"]
    assert "coordinate 't' = [1, 2, 3] differs from the stored [0, 1, 2]" in str(ds["error"].values[1, 0])
    # arrays of the layout missing: refused, named
    shutil.rmtree(store / "status")
    with pytest.raises(ValueError, match=r"store: .*t.zarr is damaged \('status' missing\)"):
        sweep(tiny_cell, KILL_GRID, store, seed=5, dims=KILL_DIMS, progress=False)


def _shifted_t(cell, **kwargs):
    out = cell(**kwargs)
    out["t"] = out["t"] + 1
    return out


def test_failing_ensemble_save_keeps_the_previous_file(tmp_path):
    from landscape_sde import Ensemble
    ens = Ensemble(t=np.arange(2), theta=np.zeros((2, 1, 1)), loss=np.ones((2, 1)),
                   diverged=np.zeros(1, bool), diverged_at=-np.ones(1, np.int64),
                   meta={"model": {"name": "m"}, "scheme": {"name": "s", "step": 0.1}})
    path = tmp_path / "run.npz"
    ens.save(path)
    before = path.read_bytes()
    bad = Ensemble(**{**ens.__dict__, "meta": {"params": np.ones(2)}})  # not JSON
    with pytest.raises(TypeError, match="meta: expected a JSON-serialisable dict"):
        bad.save(path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["run.npz"]
    np.testing.assert_array_equal(Ensemble.load(path).loss, ens.loss)
    ens.save(str(path))  # str and os.PathLike; the same bytes as before the change
    assert path.read_bytes() == before
