"""Each scheme against the closed forms of the stationary theory and independent methods.

Tolerances are stated as multiples of a standard error computed from the same sample. For the
sample covariance of n independent states the standard error of ``S_ij`` is estimated as
``std(d_i d_j)/√n`` with ``d = x − x̄``: empirical, because state-dependent (multiplicative)
noise gives heavy tails (kurtosis ~30 for the SME on linear regression), for which the Gaussian
formula ``√((S_ii S_jj + S_ij²)/n)`` understates the error fourfold. We allow 4 standard errors
per entry (false-alarm rate ~1e-4 per entry; fixed seeds make the outcome deterministic), and
every test has a negative control that must miss by far more.
"""
import numpy as np
import pytest
import scipy.stats as st_dist

import landscape_sde as lsde
from analysis import stationary as st
from landscape_sde.noise import batch_noise_factor
from models import DoubleWell, LinearRegression, Quadratic

H = np.array([[1.0, 0.3], [0.3, 2.0]])
C = np.array([[1.0, 0.2], [0.2, 0.5]])


def _final_states(model, scheme, n_steps, n_replicas, theta0, rng):
    ens = lsde.simulate(model, scheme, theta0, n_steps=n_steps, n_replicas=n_replicas,
                        save_every=n_steps, rng=rng)
    assert not ens.diverged.any()
    return ens.theta[-1]


def _cov_z(x, predicted):
    """Largest |sample − predicted| of the covariance entries in standard errors."""
    d = x - x.mean(axis=0)
    products = d[:, :, None] * d[:, None, :]
    S = products.mean(axis=0)
    se = products.std(axis=0) / np.sqrt(x.shape[0])
    return np.max(np.abs(S - predicted) / se)


def test_euler_maruyama_stationary_variance():
    # L = ½ h θ², h dt = 0.5: exact discrete variance T / (h (1 − h dt/2)) = 1/3 differs from
    # the continuum T/h = 1/4 by 33%, i.e. ~20 standard errors at n = 20000.
    h, T, dt = 2.0, 0.5, 0.25
    x = _final_states(Quadratic([[h]]), lsde.Langevin(dt, T), 100, 20_000, [0.0], 1)
    var, se = x.var(), x.var() * np.sqrt(2 / x.size)
    assert abs(var - T / (h * (1 - h * dt / 2))) < 4 * se
    assert abs(var - T / h) > 10 * se  # negative control: the continuum answer is wrong here
    # Leimkuhler-Matthews is exact on a quadratic: T/h.
    x = _final_states(Quadratic([[h]]), lsde.LeimkuhlerMatthews(dt, T), 100, 20_000, [0.0], 2)
    assert abs(x.var() - T / h) < 4 * x.var() * np.sqrt(2 / x.size)


@pytest.mark.slow
def test_stationary_bias_order_em_vs_leimkuhler_matthews():
    # Double well U = ½(x² − 1)² at T = 1: ⟨x²⟩ by quadrature. Time averages over t in
    # [40, 440] of 4000 replicas give a standard error ~6e-4 (from the per-replica spread).
    model = DoubleWell(dim=1, barrier=0.5)
    exact = st.boltzmann_moment(lambda x: 0.5 * (x * x - 1) ** 2, 1.0, lambda x: x * x)

    def bias(scheme_cls, dt):
        burn, n = int(round(40 / dt)), int(round(400 / dt))
        ens = lsde.simulate(model, scheme_cls(dt, 1.0), [0.0], n_steps=burn + n,
                            n_replicas=4000, save_at=np.arange(burn, burn + n + 1, int(round(1 / dt))),
                            rng=5)
        per_replica = (ens.theta[..., 0] ** 2).mean(axis=0)
        return per_replica.mean() - exact, per_replica.std() / np.sqrt(per_replica.size)

    em = {dt: bias(lsde.Langevin, dt) for dt in (0.025, 0.05)}
    lm = {dt: bias(lsde.LeimkuhlerMatthews, dt) for dt in (0.05, 0.1)}
    # Euler-Maruyama: first order, the bias doubles with dt (ratio 2 ± ~0.15 from the errors).
    assert em[0.05][0] > 10 * em[0.05][1] or -em[0.05][0] > 10 * em[0.05][1]
    assert 1.6 < em[0.05][0] / em[0.025][0] < 2.6
    # Leimkuhler-Matthews: second order, unresolved at dt = 0.05 and, even at twice the step,
    # four times smaller than Euler-Maruyama's at dt = 0.05.
    assert abs(lm[0.05][0]) < 4 * lm[0.05][1]
    assert abs(lm[0.1][0]) < abs(em[0.05][0]) / 4


@pytest.mark.parametrize("replace, momentum", [(False, 0.0), (True, 0.0), (False, 0.6)])
def test_sgd_stationary_covariance_solves_discrete_lyapunov(replace, momentum):
    # N = 6, b = 3: c_b = 1/3 with replacement, (6−3)/(3·5) = 1/5 without: the wrong factor
    # is off by 67% (or 40%), tens of standard errors at n = 20000.
    n, b, lr = 6, 3, 0.3
    model = Quadratic(H, C, n_samples=n)
    x = _final_states(model, lsde.SGD(lr, b, replace=replace, momentum=momentum), 300,
                      20_000, [0.0, 0.0], 11)
    predicted = st.discrete_lyapunov(H, batch_noise_factor(n, b, replace) * C, lr, momentum)
    assert _cov_z(x, predicted) < 4
    wrong = st.discrete_lyapunov(H, batch_noise_factor(n, b, not replace) * C, lr, momentum)
    assert _cov_z(x, wrong) > 10
    assert np.all(np.abs(x.mean(axis=0)) < 4 * np.sqrt(np.diag(predicted) / x.shape[0]))


def _decode_batches(ens, model, lr):
    """With H = 0 and b = 1 every SGD step moves θ by −lr·a_i: recover the sample index i."""
    steps = -np.diff(ens.theta, axis=0) / lr  # (n_steps, n_replicas, dim)
    dist = np.linalg.norm(steps[:, :, None, :] - model.offsets[None, None], axis=-1)
    assert np.all(dist.min(axis=-1) < 1e-9)
    return dist.argmin(axis=-1)  # (n_steps, n_replicas)


def test_epoch_shuffling_draws_uniform_independent_permutations():
    # N = 4 samples, b = 1: each epoch of 4 steps must be a permutation of the samples, all 24
    # permutations equally likely, fresh every epoch. 12,000 epochs give 500 per permutation
    # (chi-square, 23 dof). Negative controls: Sattolo's shuffle reaches only the 6 cyclic
    # permutations, a shuffle reused every epoch makes consecutive epochs equal.
    model = Quadratic(np.zeros((2, 2)), np.eye(2), n_samples=4)
    ens = lsde.simulate(model, lsde.SGD(0.1, 1, shuffle=True), [0.0, 0.0], n_steps=40,
                        n_replicas=1200, rng=3)
    epochs = _decode_batches(ens, model, 0.1).T.reshape(1200, 10, 4)
    assert np.all(np.sort(epochs, axis=-1) == np.arange(4))
    codes = (epochs * 4 ** np.arange(4)).sum(axis=-1)
    _, counts = np.unique(codes, return_counts=True)
    assert counts.size == 24
    assert st_dist.chisquare(counts).pvalue > 1e-4
    assert np.mean(codes[:, 1:] == codes[:, :-1]) < 0.1  # 1/24 expected


def test_without_replacement_batches_are_uniform_and_fresh():
    # b = 1 without replacement: each step an independent uniform index (N = 4, 48,000 draws).
    model = Quadratic(np.zeros((2, 2)), np.eye(2), n_samples=4)
    ens = lsde.simulate(model, lsde.SGD(0.1, 1), [0.0, 0.0], n_steps=40, n_replicas=1200, rng=4)
    idx = _decode_batches(ens, model, 0.1)
    assert st_dist.chisquare(np.bincount(idx.ravel(), minlength=4)).pvalue > 1e-4
    pairs = np.bincount((idx[1:] * 4 + idx[:-1]).ravel(), minlength=16)
    assert st_dist.chisquare(pairs).pvalue > 1e-4  # consecutive steps independent


def test_sgd_and_sme_moments_on_linear_regression():
    # State-dependent noise: the exact moment recursion (analysis.stationary.linear_sgd_moments)
    # predicts SGD and, with dt = lr, the SME identically; with dt = lr/4 it predicts the SME
    # closer to its continuum limit, a different covariance (negative control).
    # At lr = 0.3 (lr·λ_max = 0.35) the two predictions differ by 21% of the covariance, 9.6
    # (heavy-tailed, empirical) standard errors of the worst entry at n = 40000.
    model = LinearRegression.teacher_student(16, 2, noise=0.5, rng=1)
    lr, b = 0.3, 2
    sgd_mean, sgd_cov = st.linear_sgd_moments(model, lr, b)
    theta0 = model.minimizer()
    x_sgd = _final_states(model, lsde.SGD(lr, b), 200, 40_000, theta0, 21)
    x_sme = _final_states(model, lsde.SME(lr, b), 200, 40_000, theta0, 22)
    x_sme4 = _final_states(model, lsde.SME(lr, b, dt=lr / 4), 800, 40_000, theta0, 23)
    assert _cov_z(x_sgd, sgd_cov) < 4
    assert _cov_z(x_sme, sgd_cov) < 4
    sme4_cov = st.linear_sgd_moments(model, lr, b, dt=lr / 4)[1]
    assert _cov_z(x_sme4, sme4_cov) < 4
    assert _cov_z(x_sme4, sgd_cov) > 8
    for x in (x_sgd, x_sme, x_sme4):
        assert np.all(np.abs(x.mean(axis=0) - sgd_mean) < 4 * np.sqrt(np.diag(sgd_cov) / x.shape[0]))


def test_sme_approximates_sgd_to_first_order_in_lr():
    # Stationary covariance, exact for both (linear_sgd_moments): the SME continuum limit
    # (dt → 0) differs from SGD's by O(η) relative; halving η halves the relative gap.
    model = LinearRegression.teacher_student(16, 2, noise=0.5, rng=1)
    gaps = []
    for lr in (0.1, 0.05, 0.025):
        sgd = st.linear_sgd_moments(model, lr, 2)[1]
        sme = st.linear_sgd_moments(model, lr, 2, dt=lr / 200)[1]
        gaps.append(np.abs(sgd - sme).max() / np.abs(sme).max())
    assert gaps[0] / gaps[1] == pytest.approx(2, rel=0.15)
    assert gaps[1] / gaps[2] == pytest.approx(2, rel=0.15)


def test_double_well_stationary_against_boltzmann_quadrature():
    # U = (x² − 1)² + 2y² at T = 0.3 (the benchmark potential), Leimkuhler-Matthews with
    # dt = 0.01 (stationary bias O(dt²) ~ 1e-4, below the standard error ~1e-3). ⟨x²⟩ does
    # not depend on which well a replica sits in, so half the replicas start in each.
    model = DoubleWell(dim=2)
    T = 0.3
    n_rep = 4000
    start = np.column_stack([np.where(np.arange(n_rep) % 2 == 0, 1.0, -1.0), np.zeros(n_rep)])
    ens = lsde.simulate(model, lsde.LeimkuhlerMatthews(0.01, T), start, n_steps=6000,
                        n_replicas=n_rep, save_at=np.arange(1000, 6001, 100), rng=8)
    x2 = (ens.theta[..., 0] ** 2).mean(axis=0)
    y2 = (ens.theta[..., 1] ** 2).mean(axis=0)
    exact_x2 = st.boltzmann_moment(lambda x: (x * x - 1) ** 2, T, lambda x: x * x)
    assert abs(x2.mean() - exact_x2) < 4 * x2.std() / np.sqrt(n_rep)
    assert abs(y2.mean() - T / 4) < 4 * y2.std() / np.sqrt(n_rep)
    # negative control: the harmonic approximation of the well, ⟨x²⟩ ≈ 1 + T/8, is resolved
    assert abs(x2.mean() - (1 + T / 8)) > 4 * x2.std() / np.sqrt(n_rep)
