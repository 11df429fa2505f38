"""Adam and RMSProp: against NumPy references of the textbook formulas and (when installed)
PyTorch's optimisers, their frozen-preconditioner stability edge, and the preconditioned
sharpness."""
import numpy as np
import pytest
import scipy.linalg

import landscape_sde as lsde
from analysis.curvature import preconditioned_sharpness, tracker
from analysis.derivations import adam_frozen_threshold_value
from models import Quadratic
from models.deep_linear import DeepLinearNetwork

N_STEPS = 300


@pytest.fixture(scope="module")
def net():
    return DeepLinearNetwork.teacher_student([3, 4, 5, 2], 20, noise=0.1, rng=0)


@pytest.fixture(scope="module")
def starts(net):
    return 0.5 * np.random.default_rng(1).standard_normal((3, net.dim))


def numpy_adam(model, theta, n, lr, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True):
    """Kingma & Ba's algorithm as written in the paper (with ε outside the root)."""
    theta, m, v, path = theta.copy(), np.zeros_like(theta), np.zeros_like(theta), [theta.copy()]
    for k in range(1, n + 1):
        g = model.grad(theta)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        mh, vh = (m / (1 - beta1**k), v / (1 - beta2**k)) if bias_correction else (m, v)
        theta = theta - lr * mh / (np.sqrt(vh) + eps)
        path.append(theta.copy())
    return np.array(path)


def numpy_rmsprop(model, theta, n, lr, beta2=0.99, eps=1e-8):
    theta, v, path = theta.copy(), np.zeros_like(theta), [theta.copy()]
    for _ in range(n):
        g = model.grad(theta)
        v = beta2 * v + (1 - beta2) * g**2
        theta = theta - lr * g / (np.sqrt(v) + eps)
        path.append(theta.copy())
    return np.array(path)


def run(model, scheme, starts, n=N_STEPS):
    ens = lsde.simulate(model, scheme, starts, n_steps=n, n_replicas=len(starts), save_every=1, rng=0)
    return np.swapaxes(ens.theta, 0, 1)  # (replica, step, dim)


def rel_err(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# Tolerance 1e-11: the compiled update and the references round differently (PyTorch's
# lerp and fused order of operations); on these contracting trajectories the rounding
# differences stay ~1e-15, so 1e-11 leaves four decades and still catches any formula error
# (the negative controls below differ at 1e-3 or more). Parameters are chosen away from the
# adaptive edge of stability: there (e.g. RMSProp with β₂ = 0.9 here) the dynamics oscillate
# and amplify round-off exponentially, to 2e-3 after 200 steps, in either implementation.
@pytest.mark.parametrize("kw", [{}, dict(beta1=0.5, beta2=0.99, eps=1e-3), dict(bias_correction=False)])
def test_adam_matches_numpy_reference(net, starts, kw):
    ours = run(net, lsde.Adam(0.01, **kw), starts)
    for r, th0 in enumerate(starts):
        assert rel_err(ours[r], numpy_adam(net, th0, N_STEPS, 0.01, **kw)) < 1e-11


def test_rmsprop_matches_numpy_reference(net, starts):
    ours = run(net, lsde.RMSProp(0.003, beta2=0.995), starts)
    for r, th0 in enumerate(starts):
        assert rel_err(ours[r], numpy_rmsprop(net, th0, N_STEPS, 0.003, beta2=0.995)) < 1e-11


def test_negative_control_bias_correction_matters(net, starts):
    ours = run(net, lsde.Adam(0.01, bias_correction=False), starts[:1])
    assert rel_err(ours[0], numpy_adam(net, starts[0], N_STEPS, 0.01)) > 1e-3


def torch_path(model, theta, n, make):
    torch = pytest.importorskip("torch", reason="PyTorch is an optional test dependency "
                                "(pip install torch==2.13.0); the NumPy references still run")
    p = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    opt, path = make(torch.optim, [p]), [theta.copy()]
    for _ in range(n):
        p.grad = torch.tensor(model.grad(p.detach().numpy()))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("ours, make", [
    (lsde.Adam(0.01), lambda o, p: o.Adam(p, lr=0.01)),
    (lsde.Adam(0.02, beta1=0.8, beta2=0.99, eps=1e-6), lambda o, p: o.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    (lsde.RMSProp(0.003), lambda o, p: o.RMSprop(p, lr=0.003)),
])
def test_against_pytorch(net, starts, ours, make):
    ref = torch_path(net, starts[0], N_STEPS, make)
    assert rel_err(run(net, ours, starts[:1])[0], ref) < 1e-10


def test_pytorch_negative_control(net, starts):
    ref = torch_path(net, starts[0], N_STEPS, lambda o, p: o.Adam(p, lr=0.01, eps=1e-8))
    assert rel_err(run(net, lsde.Adam(0.01, eps=1e-6), starts[:1])[0], ref) > 1e-10


def test_full_size_batches_are_full_batch(net, starts):
    """b = N without replacement is every sample in a random order: the full gradient up to
    the order of the sum (round-off, ~1e-16 per step)."""
    full = run(net, lsde.Adam(0.01), starts, n=100)
    batch = run(net, lsde.Adam(0.01, batch_size=net.n_samples), starts, n=100)
    assert rel_err(batch, full) < 1e-11
    small = run(net, lsde.Adam(0.01, batch_size=4), starts, n=100)
    assert rel_err(small, full) > 1e-3  # negative control: real mini-batches differ


def test_minibatch_paths_reproducible(net, starts):
    """A replica's path depends only on the seed and its index."""
    many = np.repeat(starts[:1], 6, axis=0)
    a = lsde.simulate(net, lsde.RMSProp(0.003, batch_size=5), many, n_steps=50, n_replicas=6, rng=7).theta
    b = lsde.simulate(net, lsde.RMSProp(0.003, batch_size=5), many[:2], n_steps=50, n_replicas=2, rng=7).theta
    np.testing.assert_array_equal(a[:, :2], b)
    assert not np.array_equal(a[:, 0], a[:, 1])  # different replicas draw different batches


@pytest.mark.parametrize("beta1", [0.9, 0.5, 0.0])
def test_frozen_preconditioner_edge(beta1):
    """With ε = 10⁸ ≫ √v, P = ε I is frozen (to 1e-6 relative while |∇L| < 100), so Adam is
    heavy ball on H/ε: at 0.99 of the derived edge the iterates contract to 0, at 1.01 they
    grow by more than 10² (30x the transient growth of the stable side) (until √v̂ becomes comparable to ε and Adam re-stabilises)."""
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    edge = adam_frozen_threshold_value(1.0, beta1) * 1e8 / np.linalg.eigvalsh(H)[-1]
    for factor, stable in ((0.99, True), (1.01, False)):
        scheme = (lsde.Adam(edge * factor, beta1=beta1, eps=1e8, bias_correction=False) if beta1
                  else lsde.RMSProp(edge * factor, eps=1e8))
        e = lsde.simulate(Quadratic(H), scheme, np.array([1.0, -0.5]), n_steps=3000, n_replicas=1,
                          save_every=10, rng=0)
        peak, last = np.abs(e.theta[:, 0]).max(axis=1).max(), np.abs(e.theta[-1, 0]).max()
        if stable:
            assert peak < 10.0 and last < 1e-6  # heavy ball's transient growth is < 4x here
        else:
            assert peak > 1e2


def test_preconditioned_sharpness_against_generalised_eigenproblem(net, starts):
    """λ_max(P⁻¹H) from the symmetrised operator equals the top generalised eigenvalue of
    (H, diag P) from scipy, dense and by Lanczos."""
    th = starts[0]
    P = np.random.default_rng(3).uniform(0.1, 2.0, net.dim)
    ref = scipy.linalg.eigh(net.hessian(th), np.diag(P), eigvals_only=True)[-1]
    for method in ("dense", "lanczos"):
        est = preconditioned_sharpness(net, th, P, method=method)
        assert est.sharpness == pytest.approx(ref, rel=1e-8)
        assert est.residuals[0] < 1e-6 * abs(ref)
    # negative control: P = 1 gives the raw sharpness, which differs
    assert preconditioned_sharpness(net, th, 1.0).sharpness == pytest.approx(
        np.linalg.eigvalsh(net.hessian(th))[-1], rel=1e-10)
    assert abs(preconditioned_sharpness(net, th, 1.0).sharpness - ref) > 0.05 * abs(ref)


def test_tracker_reads_adam_preconditioner(net, starts):
    scheme = lsde.Adam(0.01)
    obs = {"pS": (50, tracker(net, ["preconditioned_sharpness", "sharpness"]), "preconditioner"),
           "v": (50, lambda th, v: v, "exp_avg_sq")}
    e = lsde.simulate(net, scheme, starts, n_steps=100, n_replicas=3, observe=obs, rng=0)
    t, pS = e.observables["pS"]["t"], e.observables["pS"]["values"]
    v = e.observables["v"]["values"]
    i, r = list(t).index(100), 1
    P = np.sqrt(v[i, r] / (1 - 0.999**100)) + 1e-8
    ref = scipy.linalg.eigh(net.hessian(e.theta[-1, r]), np.diag(P), eigvals_only=True)[-1]
    assert pS[i, r, 0] == pytest.approx(ref, rel=1e-8)
    with pytest.raises(ValueError, match="preconditioner"):
        lsde.simulate(net, scheme, starts, n_steps=10, n_replicas=3, rng=0,
                      observe={"x": (5, tracker(net, ["preconditioned_sharpness"]))})
    with pytest.raises(ValueError, match="P"):
        preconditioned_sharpness(net, starts[0], -np.ones(net.dim))


@pytest.mark.parametrize("make, match", [
    (lambda: lsde.Adam(0.0), "lr"), (lambda: lsde.Adam(np.nan), "lr"),
    (lambda: lsde.Adam(0.1, beta1=1.0), "beta1"), (lambda: lsde.Adam(0.1, beta2=-0.1), "beta2"),
    (lambda: lsde.Adam(0.1, eps=0.0), "eps"), (lambda: lsde.Adam(0.1, batch_size=0), "batch_size"),
    (lambda: lsde.RMSProp(0.1, beta2=1.0), "beta2"), (lambda: lsde.RMSProp(0.1, eps=-1.0), "eps"),
    (lambda: lsde.Adam(0.1, bias_correction="yes"), "bias_correction"),
])
def test_bad_input(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_batch_larger_than_data_rejected_before_work(net, starts):
    with pytest.raises(ValueError, match="batch_size"):
        lsde.simulate(net, lsde.Adam(0.1, batch_size=net.n_samples + 1), starts, n_steps=5,
                      n_replicas=3)


def test_adam_hovers_at_the_adaptive_edge():
    """Cohen et al. (2022) on the deep linear network of the figure: after 1500 steps full-batch
    Adam's λ_max(P⁻¹H) stays within −15%/+15% of 38/η (its oscillation, sampled every 100
    steps, spans about ±10% in the figure's runs), while the raw sharpness stays below 5% of
    2/η. Control: RMSProp (β₁ = 0) at the same η sits near its own edge 2/η (within −15%/+30%),
    a nineteenth of Adam's, as the derived threshold says."""
    model = DeepLinearNetwork.teacher_student([10, 20, 20, 5], 100, noise=0.1, rng=0)
    theta0 = 0.15 * np.random.default_rng(0).standard_normal(model.dim)
    lr, late = 3e-3, slice(15, None)
    obs = {"S": (100, tracker(model, ["preconditioned_sharpness", "sharpness"]), "preconditioner")}
    runs = {}
    for scheme in (lsde.Adam(lr, beta2=0.99), lsde.RMSProp(lr, beta2=0.99)):
        runs[scheme.name] = lsde.simulate(model, scheme, theta0, n_steps=3000, save_every=3000,
                                          observe=obs).observables["S"]["values"][late, 0]
    adam, rms = runs["Adam"], runs["RMSProp"]
    assert 0.85 < adam[:, 0].mean() * lr / 38 < 1.1 and adam[:, 0].max() * lr / 38 < 1.15
    assert adam[:, 1].max() * lr / 2 < 0.05
    # RMSProp hovers 10-15% above its frozen-P edge here (its P changes faster), far below Adam's
    assert 0.85 < rms[:, 0].mean() * lr / 2 < 1.3 and rms[:, 0].mean() * lr / 38 < 0.1
