"""The simulate contract: validation, reproducibility, divergence, Ensemble round trip."""
import ast
import pathlib

import numba
import numpy as np
import pytest

import landscape_sde as lsde
from landscape_sde._kernels.layout import SAMPLERS, Carry, Loop, Out, Segment
from landscape_sde.simulation import driver
from models import DoubleWell, LinearRegression, PolynomialPotential, Quadratic

QUAD = Quadratic(np.diag([1.0, 4.0]), np.diag([1.0, 0.5]), n_samples=6)
LINREG = LinearRegression.teacher_student(32, 3, noise=0.5, rng=0)
SCHEMES = [lsde.GD(0.05, momentum=0.5), lsde.SGD(0.05, 3), lsde.SGD(0.05, 3, replace=True),
           lsde.SGD(0.05, 4, shuffle=True, momentum=0.3), lsde.Langevin(0.05, 0.2),
           lsde.LeimkuhlerMatthews(0.05, 0.2), lsde.SME(0.05, 3)]


@pytest.mark.parametrize("bad, kind, match", [
    (dict(scheme=lsde.SGD(0.1, 7)), ValueError, "batch_size"),
    (dict(scheme=lsde.SME(0.1, 7)), ValueError, "batch_size"),
    (dict(theta0=[1.0]), ValueError, "theta0"),
    (dict(theta0=np.zeros((3, 2)), n_replicas=2), ValueError, "theta0"),
    (dict(theta0=[np.nan, 0.0]), ValueError, "theta0"),
    (dict(n_steps=0), ValueError, "n_steps"),
    (dict(n_steps=2.5), TypeError, "n_steps"),
    (dict(n_replicas=0), ValueError, "n_replicas"),
    (dict(save_every=0), ValueError, "save_every"),
    (dict(save_at=[0, 11]), ValueError, "save_at"),
    (dict(divergence_bound=-1.0), ValueError, "divergence_bound"),
    (dict(theta0=[1e11, 0.0]), ValueError, "theta0"),
    (dict(model="quadratic"), TypeError, "model"),
    (dict(scheme="sgd"), TypeError, "scheme"),
    (dict(rng="seed"), TypeError, "rng"),
])
def test_bad_arguments_are_named(bad, kind, match):
    args = dict(model=QUAD, scheme=lsde.GD(0.1), theta0=[1.0, 1.0], n_steps=10, n_replicas=2)
    args.update(bad)
    with pytest.raises(kind, match=match):
        lsde.simulate(args.pop("model"), args.pop("scheme"), args.pop("theta0"), **args)


@pytest.mark.parametrize("make, match", [
    (lambda: lsde.SGD(0.0, 2), "lr"), (lambda: lsde.SGD(0.1, 0), "batch_size"),
    (lambda: lsde.SGD(0.1, 2, momentum=1.0), "momentum"),
    (lambda: lsde.GD(0.1, momentum=-0.1), "momentum"),
    (lambda: lsde.SGD(0.1, 2, replace=True, shuffle=True), "shuffle"),
    (lambda: lsde.Langevin(-1e-3, 1.0), "dt"), (lambda: lsde.Langevin(1e-3, 0.0), "temperature"),
    (lambda: lsde.SME(0.1, 2, dt=float("nan")), "dt"), (lambda: lsde.GD(float("inf")), "lr"),
    (lambda: lsde.SGD(0.1, 2, replace="no"), "replace"), (lambda: lsde.SME(0.1, 2, replace=1), "replace"),
    (lambda: lsde.SGD(0.1, 2, shuffle="yes"), "shuffle"),
])
def test_bad_scheme_parameters_are_named(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_model_data_is_named():
    with pytest.raises(ValueError, match="noise_cov"):
        Quadratic(np.eye(2), [[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="X"):
        LinearRegression([[1.0, np.inf]], [1.0])
    with pytest.raises(ValueError, match="y"):
        LinearRegression(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="X"):
        LinearRegression(np.ones((0, 2)), np.ones(0))
    with pytest.raises(ValueError, match="hessian"):
        Quadratic(np.zeros((0, 0)))
    with pytest.raises(ValueError, match="coeffs"):
        PolynomialPotential([])
    with pytest.raises(TypeError, match="n"):
        lsde.rng.standard_normals(2, 2.9)
    with pytest.raises(ValueError, match="first_replica"):
        lsde.rng.standard_normals(2, 3, first_replica=-1)


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: repr(s))
def test_bit_identical_across_threads_chunks_and_replica_counts(scheme):
    model = LINREG
    run = lambda n: lsde.simulate(model, scheme, np.zeros(3), n_steps=50, n_replicas=n,  # noqa: E731
                                  save_every=10, rng=42)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run(7)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = run(7)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.theta, many.theta)
    np.testing.assert_array_equal(one.loss, many.loss)
    few = run(3)
    np.testing.assert_array_equal(one.theta[:, :3], few.theta)
    assert not np.array_equal(one.theta[:, 0], one.theta[:, 1]) or scheme.noise == "none"
    # Thread count aside, the compiled loop itself must not care how replicas are chunked.
    method = scheme.method(model)
    drive = driver(model, method)
    steps = np.arange(0, 51, 10)
    key = lsde.rng.root_key(np.random.SeedSequence(42))
    loop = Loop(key, model.n_samples, method.batch_size, SAMPLERS[method.sampling], 1e10)
    stream = lsde.Streaming(coords=()).allocate(3, steps.size, 7, on=False)
    outputs = []
    for edges in ([0, 7], [0, 3, 7], [0, 1, 2, 5, 7]):
        out = Out(np.empty((steps.size, 7, 3)), np.empty((steps.size, 7)), np.full(7, -1, np.int64))
        state = method.allocate(7)
        carry = Carry.fresh(7, model.n_samples if method.permutes else 0)
        for a, b in zip(edges[:-1], edges[1:]):
            drive(model.data, np.zeros((7, 3)), Segment(steps, 0, True, a, b), loop,
                  method.params, state, carry, out, stream)
        outputs.append(out.theta)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])
    np.testing.assert_array_equal(outputs[0], one.theta)


def test_different_seeds_give_different_paths():
    a = lsde.simulate(QUAD, lsde.SGD(0.1, 2), [1.0, 1.0], n_steps=20, rng=1)
    b = lsde.simulate(QUAD, lsde.SGD(0.1, 2), [1.0, 1.0], n_steps=20, rng=2)
    assert not np.array_equal(a.theta, b.theta)


def test_gd_matches_numpy_reference_loop():
    theta = np.array([0.3, -0.7, 1.1])
    ens = lsde.simulate(LINREG, lsde.GD(0.1, momentum=0.4), theta, n_steps=30)
    v = np.zeros(3)
    for _ in range(30):
        v = 0.4 * v - 0.1 * LINREG.grad(theta)
        theta = theta + v
    np.testing.assert_allclose(ens.theta[-1, 0], theta, rtol=1e-12)
    assert ens.loss[-1, 0] == pytest.approx(LINREG.loss(theta), rel=1e-12)


def test_save_schedule():
    ens = lsde.simulate(QUAD, lsde.GD(0.1), [1.0, 1.0], n_steps=25, save_every=10)
    np.testing.assert_array_equal(ens.t, [0, 10, 20, 25])
    np.testing.assert_allclose(ens.time, [0.0, 1.0, 2.0, 2.5])
    ens = lsde.simulate(QUAD, lsde.GD(0.1), [1.0, 1.0], n_steps=25, save_at=[5, 1, 5])
    np.testing.assert_array_equal(ens.t, [1, 5, 25])
    ens = lsde.simulate(QUAD, lsde.GD(0.1), [1.0, 1.0], n_steps=3, save_every=1)
    expected = np.array([1.0, 1.0]) * np.array([0.9, 0.6]) ** np.arange(4)[:, None]
    np.testing.assert_allclose(ens.theta[:, 0], expected, rtol=1e-14)


def test_divergence_is_recorded_at_the_predicted_step():
    # GD on h = 4 with lr = 0.6: θ₂ is multiplied by |1 − 2.4| = 1.4 per step, so it first
    # exceeds the bound 1e10 at step ceil(ln(1e10) / ln 1.4) = 69. A replica starting with
    # θ₂ = 0 stays bounded.
    ens = lsde.simulate(QUAD, lsde.GD(0.6), [[1.0, 1.0], [1.0, 0.0]], n_steps=200,
                        n_replicas=2, save_every=10)
    assert ens.diverged.tolist() == [True, False]
    assert ens.diverged_at.tolist() == [int(np.ceil(np.log(1e10) / np.log(1.4))), -1]
    assert np.all(np.isfinite(ens.theta[:7, 0])) and np.all(np.isnan(ens.theta[7:, 0]))
    assert np.all(np.isfinite(ens.theta[:, 1]))


def test_non_finite_initial_loss_is_divergence_at_step_zero():
    # |θ| = 1e100 is inside the bound 1e300 but (θ² − 1)² overflows: flagged at step 0.
    ens = lsde.simulate(DoubleWell(dim=1), lsde.GD(1e-3), [[1e100], [1.0]], n_steps=5,
                        n_replicas=2, divergence_bound=1e300)
    assert ens.diverged_at.tolist() == [0, -1]
    assert np.all(np.isnan(ens.theta[:, 0])) and np.all(np.isfinite(ens.theta[:, 1]))


def test_diverging_replicas_do_not_affect_the_others():
    model = DoubleWell(dim=1)
    scheme = lsde.Langevin(0.05, 0.5)
    good = np.array([[1.0], [-1.0], [0.5], [1.0]])
    bad = good.copy()
    bad[[1, 3]] = 30.0  # the first step overshoots to ~1e5, then overflows
    a = lsde.simulate(model, scheme, good, n_steps=500, n_replicas=4, save_every=50, rng=3)
    b = lsde.simulate(model, scheme, bad, n_steps=500, n_replicas=4, save_every=50, rng=3)
    assert not a.diverged.any()
    assert b.diverged.tolist() == [False, True, False, True]
    assert np.all(b.diverged_at[[1, 3]] < 5)
    np.testing.assert_array_equal(a.theta[:, [0, 2]], b.theta[:, [0, 2]])


def test_ensemble_save_load_round_trip(tmp_path):
    ens = lsde.simulate(QUAD, lsde.SGD(0.7, 2), [[1.0, 1.0], [0.0, 0.0]], n_steps=100,
                        n_replicas=2, save_every=7, rng=9)
    assert ens.diverged[0]  # NaNs must survive the round trip too
    path = tmp_path / "ens.npz"
    ens.save(path)
    back = lsde.Ensemble.load(path)
    for name in ("t", "theta", "loss", "diverged", "diverged_at"):
        a, b = getattr(ens, name), getattr(back, name)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert back.meta == ens.meta
    meta = ens.meta
    assert meta["scheme"]["name"] == "SGD" and meta["scheme"]["params"]["batch_size"] == 2
    assert meta["model"]["name"] == "Quadratic"
    assert np.random.SeedSequence(9).entropy == int(meta["seed"]["entropy"])
    assert set(meta["versions"]) >= {"landscape_sde", "numpy", "numba", "python"}


def test_engine_never_imports_upper_layers():
    root = pathlib.Path(lsde.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0
                     else [])
            for name in names:
                assert name.split(".")[0] not in {"models", "analysis", "figures"}, \
                    f"{path} imports {name}"


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: repr(s))
def test_observers_do_not_change_paths(scheme):
    # Observing splits the run into compiled segments that carry every replica's state
    # (generator, velocity, LM noise, batch permutation, epoch position): bit-identical paths.
    plain = lsde.simulate(LINREG, scheme, np.zeros(3), n_steps=60, n_replicas=5, save_every=7, rng=3)
    seen = lsde.simulate(LINREG, scheme, np.zeros(3), n_steps=60, n_replicas=5, save_every=7, rng=3,
                         observe={"norm": (8, lambda th: np.linalg.norm(th, axis=1)),
                                  "loss": (25, lambda th: [LINREG.loss(t) for t in th])})
    np.testing.assert_array_equal(plain.theta, seen.theta)
    np.testing.assert_array_equal(plain.t, seen.t)
    obs = seen.observables["norm"]
    np.testing.assert_array_equal(obs["t"], np.arange(0, 61, 8))
    at = np.searchsorted(plain.t, 56)
    assert plain.t[at] == 56
    np.testing.assert_allclose(obs["values"][-1], np.linalg.norm(plain.theta[at], axis=1), rtol=1e-14)
    np.testing.assert_array_equal(seen.observables["loss"]["t"], [0, 25, 50])


def test_observers_skip_diverged_replicas_and_round_trip(tmp_path):
    ens = lsde.simulate(QUAD, lsde.GD(0.6), [[1.0, 1.0], [1.0, 0.0]], n_steps=100, n_replicas=2,
                        save_every=50, observe={"x": (10, lambda th: th[:, 0])})
    vals = ens.observables["x"]["values"]
    assert np.all(np.isnan(vals[7:, 0])) and np.all(np.isfinite(vals[:, 1]))  # diverged at 69
    ens.save(tmp_path / "e.npz")
    back = lsde.Ensemble.load(tmp_path / "e.npz")
    np.testing.assert_array_equal(back.observables["x"]["values"], vals)
    np.testing.assert_array_equal(back.observables["x"]["t"], ens.observables["x"]["t"])
    with pytest.raises(TypeError, match="observe"):
        lsde.simulate(QUAD, lsde.GD(0.1), [1.0, 1.0], n_steps=5, observe={"x": 3})
    with pytest.raises(ValueError, match="one row per replica"):
        lsde.simulate(QUAD, lsde.GD(0.1), [1.0, 1.0], n_steps=5, observe={"x": (1, lambda th: [1, 2, 3])})


def test_observers_survive_every_replica_diverging():
    # A diverging run is data: once no replica is alive the observer is not called and its
    # rows are NaN with the shape of the earlier ones (diverges at step 69, observed every 10).
    calls = []
    ens = lsde.simulate(QUAD, lsde.GD(0.6), [1.0, 1.0], n_steps=100, n_replicas=1,
                        observe={"x": (10, lambda th: calls.append(len(th)) or [2 * t for t in th])})
    vals = ens.observables["x"]["values"]
    assert vals.shape == (11, 1, 2) and ens.diverged_at[0] == 69
    assert np.all(np.isfinite(vals[:7])) and np.all(np.isnan(vals[7:]))
    assert calls == [1] * 7


def test_segment_planner():
    from landscape_sde.simulation import plan_segments, save_steps
    steps = save_steps(10, save_every=4)  # 0, 4, 8, 10
    plan = plan_segments(steps, {0, 5, 10})
    assert [(s.k0, s.k1, s.fresh) for s in plan] == [(0, 0, True), (0, 5, False), (5, 10, False)]
    assert [s.save_at.tolist() for s in plan] == [[0], [4, 5], [8, 10]]
    assert [s.index.tolist() for s in plan] == [[0], [1, -1], [2, 3]]
    # no interior ends: one fresh segment holding every save
    (one,) = plan_segments(steps, ())
    assert one.fresh and one.save_at.tolist() == steps.tolist() and one.index.tolist() == [0, 1, 2, 3]
    # every save appears exactly once across the plan (segment ends that are not saves: -1)
    plan = plan_segments(save_steps(30, save_at=[3, 7, 29]), {1, 2, 7, 20, 30})
    saved = np.concatenate([s.index[s.index >= 0] for s in plan])
    assert saved.tolist() == [0, 1, 2, 3]


def test_modules_are_not_shadowed_by_functions():
    import importlib
    assert callable(lsde.simulate) and callable(lsde.sweep)
    assert importlib.import_module("landscape_sde.sweeps").STATUS["done"] == 1
    assert importlib.import_module("landscape_sde.simulation").simulate is lsde.simulate
