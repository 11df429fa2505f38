"""Stationary statistics predicted by theory, to compare simulations with.

- :func:`discrete_lyapunov`: SGD (with heavy-ball momentum) on ``L = ½ θᵀHθ`` with additive
  gradient noise; also Euler-Maruyama for an Ornstein-Uhlenbeck process.
- :func:`discrete_lyapunov_kron`: the momentum-free case in the vectorised closed form
  ``(I⊗H + H⊗I − η H⊗H) vec S = η vec C``, an independent route to the same answer.
- :func:`continuous_lyapunov`: the stationary covariance of ``dθ = −Hθ dt + √(2D) dW``.
- :func:`linear_sgd_moments`: exact stationary mean and covariance of SGD, or of the SME
  integrated by Euler-Maruyama, on any model with affine per-sample gradients (quadratics,
  linear regression), including state-dependent noise; also tells whether the second moments
  are stable at all (mean-square stability, Wu, Ma & E 2018).
- :func:`boltzmann_moment`: ``∫ f e^{−U/T} / ∫ e^{−U/T}`` in one dimension by quadrature.
"""
import numpy as np
import scipy.integrate
import scipy.linalg

from landscape_sde import checks as _v
from landscape_sde.noise import batch_noise_factor

__all__ = ["discrete_lyapunov", "discrete_lyapunov_kron", "continuous_lyapunov", "ou_entropy_production",
           "chain_entropy_production", "mfpt_quadrature",
           "euler_maruyama_covariance", "linear_sgd_moments", "boltzmann_moment"]


def _square(name, value, d=None):
    """A finite square matrix (a scalar is ``1 × 1``), ``d × d`` if ``d`` is given."""
    arr = np.atleast_2d(_v.finite_array(name, value, ndim=(0, 1, 2)))
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or (d is not None and arr.shape[0] != d):
        want = "a square matrix" if d is None else f"shape ({d}, {d})"
        raise ValueError(f"{name}: expected {want}, got shape {arr.shape}")
    return arr


def discrete_lyapunov(H, noise_cov, lr, momentum=0.0, joint=False):
    """Stationary covariance of ``θ`` under SGD on ``½ θᵀHθ`` with additive noise.

    The iteration is ``v' = μ v − η (Hθ + ε)``, ``θ' = θ + v'`` with ``Cov ε = noise_cov``
    (the mini-batch covariance ``Σ_b``, i.e. already divided by the batch factor). For
    ``μ = 0`` the answer solves ``HS + SH − ηHSH = ηC``. Solved exactly on the state
    ``(θ, v)`` with :func:`scipy.linalg.solve_discrete_lyapunov`.

    ``joint=True`` returns the whole ``2d × 2d`` covariance of ``(θ, v)`` (``v = v_k``, the
    velocity that produced ``θ_k``) instead of its ``θ`` block.

    Raises ``ValueError`` if the iteration is unstable (no stationary state).
    """
    H = _square("H", H)
    C = _square("noise_cov", noise_cov, H.shape[0])
    lr = _v.positive("lr", lr)
    momentum = _v.real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    d = H.shape[0]
    eye = np.eye(d)
    A = np.block([[eye - lr * H, momentum * eye], [-lr * H, momentum * eye]])
    if np.max(np.abs(np.linalg.eigvals(A))) >= 1.0:
        raise ValueError(f"lr={lr}, momentum={momentum}: the iteration is unstable "
                         f"(spectral radius >= 1), there is no stationary covariance")
    B = -lr * np.vstack([eye, eye])
    full = scipy.linalg.solve_discrete_lyapunov(A, B @ C @ B.T)
    return full if joint else full[:d, :d]


def discrete_lyapunov_kron(H, noise_cov, lr):
    """``S`` from ``(I⊗H + H⊗I − η H⊗H) vec S = η vec C`` (momentum-free SGD)."""
    H = _square("H", H)
    C = _square("noise_cov", noise_cov, H.shape[0])
    lr = _v.positive("lr", lr)
    eye = np.eye(H.shape[0])
    K = np.kron(eye, H) + np.kron(H, eye) - lr * np.kron(H, H)
    return np.linalg.solve(K, lr * C.ravel()).reshape(H.shape)


def continuous_lyapunov(H, D):
    """Stationary covariance ``S`` of the Itô OU process ``dθ = −Hθ dt + √(2D) dW``:
    ``HS + SHᵀ = 2D``. For the SME, ``D = (η/2) Σ_b``; for Langevin, ``D = T I`` gives
    ``S = T H⁻¹``."""
    H = _square("H", H)
    D = _square("D", D, H.shape[0])
    _v.symmetric_psd("D", D, H.shape[0])
    return scipy.linalg.solve_continuous_lyapunov(H, 2.0 * D)


def ou_entropy_production(B, D):
    """Stationary entropy production rate of the Itô OU process ``dθ = −Bθ dt + √(2D) dW``
    (``k_B = 1``, per unit time): ``σ = tr(Bᵀ D⁻¹ B S) − tr B`` with ``BS + SBᵀ = 2D``.

    From ``σ = ⟨Jᵀ D⁻¹ J / p²⟩`` with the stationary current ``J = −(B − D S⁻¹) θ p`` and the
    Lyapunov equation (``tr(S⁻¹D) = tr B``); zero iff ``D⁻¹B`` is symmetric (detailed
    balance), i.e. for symmetric ``B = H`` iff ``HD = DH``. In 2-D with ``B = H``:
    ``σ = ([H, D]_12)² / (tr H det D)`` (derivation ``ou_entropy_production``).
    """
    B = np.atleast_2d(np.asarray(B, dtype=float))
    D = np.atleast_2d(np.asarray(D, dtype=float))
    S = continuous_lyapunov(B, D)
    return float(np.trace(B.T @ np.linalg.solve(D, B @ S)) - np.trace(B))


def chain_entropy_production(cov, lag, step):
    """Entropy production per unit time of a stationary Gaussian Markov chain with covariance
    ``cov = ⟨θ_k θ_kᵀ⟩`` and lag-one covariance ``lag = ⟨θ_{k+1} θ_kᵀ⟩`` (zero mean), steps of
    duration ``step``: the Kullback-Leibler divergence per step between the joint law of
    ``(θ_k, θ_{k+1})`` and that of the reversed pair, ``½ tr(Σ_r⁻¹ Σ_f) − d`` (the two
    determinants are equal), divided by ``step``. Zero iff ``lag`` is symmetric.

    For SGD on a quadratic, ``lag = (I − ηH) S`` with ``S`` from :func:`discrete_lyapunov`
    and ``step = η`` (SDE time); as ``η → 0`` it tends to the SME's
    :func:`ou_entropy_production`. From an ensemble, plug in the sample moments.
    """
    S, K = np.atleast_2d(cov), np.atleast_2d(lag)
    fwd = np.block([[S, K.T], [K, S]])
    rev = np.block([[S, K], [K.T, S]])
    return float(0.5 * np.trace(np.linalg.solve(rev, fwd)) - S.shape[0]) / step


def mfpt_quadrature(potential, temperature, start, end, lower, shift=0.0, points=()):
    """Exact 1-D mean first-passage time of ``dθ = −U′ dt + √(2T) dW`` from ``start`` to
    ``end`` with a reflecting wall at ``lower``:
    ``(1/T) ∫_start^end dy e^{U(y)/T} ∫_lower^y e^{−U(z)/T} dz``, by nested ``quad`` (relative
    tolerances 1e-12 inside, 1e-11 outside). ``shift`` (e.g. the barrier height) is taken
    out of the outer exponent so that nothing overflows; ``points`` are the extrema of ``U``,
    passed to ``quad`` where they fall inside an interval."""
    T = float(temperature)

    def inner(y):
        pts = [p for p in points if lower < p < y]
        return scipy.integrate.quad(lambda z: np.exp(-potential(z) / T), lower, y,
                                    points=pts or None, limit=200, epsabs=0, epsrel=1e-12)[0]
    pts = [p for p in points if start < p < end]
    outer = scipy.integrate.quad(lambda y: np.exp((potential(y) - shift) / T) * inner(y), start,
                                 end, points=pts or None, limit=400, epsabs=0, epsrel=1e-11)[0]
    return outer * np.exp(shift / T) / T


def euler_maruyama_covariance(H, D, dt):
    """Exact stationary covariance of Euler-Maruyama with step ``dt`` on the OU process
    ``dθ = −Hθ dt + √(2D) dW``; scalar case ``T / (h (1 − h dt / 2))`` for ``D = T``."""
    return discrete_lyapunov(H, 2.0 * np.atleast_2d(D) / dt, dt)


def _affine_gradients(model, scale=1.0):
    """Per-sample ``∇ℓ_i(θ) = J_i θ + c_i``, as ``A_i = [J_i, c_i]`` of shape (N, d, d+1).

    Read off the model's gradients at 0 and the unit vectors, then checked at a further point
    (raises ``ValueError`` if the model's gradients are not affine).
    """
    d = model.dim
    c = model.sample_grads(np.zeros(d))
    J = np.stack([model.sample_grads(scale * e) - c for e in np.eye(d)], axis=-1) / scale
    probe = (0.23 + 0.37 * np.arange(1, d + 1)) * scale  # not a special point of any model
    if not np.allclose(model.sample_grads(probe), J @ probe + c, rtol=1e-9, atol=1e-9 * scale):
        raise ValueError(f"model: {model.name} does not have affine per-sample gradients")
    return np.concatenate([J, c[:, :, None]], axis=2)


def linear_sgd_moments(model, lr, batch_size, replace=False, momentum=0.0, *, dt=None):
    """Exact stationary mean and covariance of SGD on a model with affine gradients.

    With ``∇ℓ_i(θ) = J_i θ + c_i`` the update is linear in ``w = (θ, v, 1)`` with a random
    matrix that depends on the batch only through the batch means of ``A_i = [J_i, c_i]``, so
    ``E[wwᵀ]`` obeys a closed linear recursion. The batch enters only through
    ``E[(A_B − A) Z (A_B − A)ᵀ] = c_b · (1/N) Σ_i (A_i − A) Z (A_i − A)ᵀ`` (exact, with
    ``c_b`` from :func:`landscape_sde.noise.batch_noise_factor`), so no batches are enumerated.

    ``dt`` set: the SME ``dθ = −∇L dt + (η Σ_b(θ))^{1/2} dW`` integrated by Euler-Maruyama with
    step ``dt`` instead (no momentum): drift step ``dt`` and noise weight ``η·dt`` in place of
    ``η`` and ``η²``. With ``dt = η`` the two coincide, as they must.

    Returns
    -------
    mean : ndarray (dim,)
    cov : ndarray (dim, dim)

    Raises ``ValueError`` if the second moments have no stationary state (the spectral radius
    of the moment map is >= 1: mean-square instability).
    """
    A = _affine_gradients(model)
    n, d = A.shape[0], model.dim
    c_b = batch_noise_factor(n, batch_size, replace)
    if dt is None:
        h, q = lr, lr * lr
    else:
        if momentum != 0.0:
            raise ValueError("momentum: the SME has no momentum term; got "
                             f"momentum={momentum} with dt={dt}")
        h, q = dt, lr * dt
    A_mean = A.mean(axis=0)
    dA = A - A_mean
    eye = np.eye(d)
    # state w = (θ, v, 1); w' = M w + noise, noise = −[I; I; 0] δA_B z with z = (θ, 1)
    n_w = 2 * d + 1
    M = np.zeros((n_w, n_w))
    J, c = A_mean[:, :d], A_mean[:, d]
    M[:d, :d] = eye - h * J
    M[:d, d:2 * d] = momentum * eye
    M[:d, -1] = -h * c
    M[d:2 * d, :d] = -h * J
    M[d:2 * d, d:2 * d] = momentum * eye
    M[d:2 * d, -1] = -h * c
    M[-1, -1] = 1.0
    P = np.zeros((n_w, d))
    P[:d] = eye
    P[d:2 * d] = eye
    Q = np.zeros((d + 1, n_w))
    Q[:d, :d] = eye
    Q[d, -1] = 1.0
    F = np.einsum("nab,ncd->acbd", dA, dA).reshape(d * d, (d + 1) ** 2) / n  # vec(δA Z δAᵀ)
    K = np.kron(M, M) + q * c_b * np.kron(P, P) @ F @ np.kron(Q, Q)
    last = n_w * n_w - 1  # index of w_const·w_const = 1
    free = np.arange(last)
    K_ff = K[np.ix_(free, free)]
    radius = np.max(np.abs(np.linalg.eigvals(K_ff)))
    if radius >= 1.0:
        raise ValueError(f"lr={lr}, batch_size={batch_size}: second moments are unstable "
                         f"(spectral radius {radius:.4f} >= 1), no stationary state")
    W = np.append(np.linalg.solve(np.eye(last) - K_ff, K[free, last]), 1.0).reshape(n_w, n_w)
    mean = W[:d, -1]
    return mean, W[:d, :d] - np.outer(mean, mean)


def boltzmann_moment(potential, temperature, f, lower=-np.inf, upper=np.inf):
    """``⟨f⟩ = ∫ f(x) e^{−U(x)/T} dx / ∫ e^{−U(x)/T} dx`` in one dimension (adaptive quadrature).

    ``potential`` and ``f`` are vectorised callables of ``x``; the density is shifted by the
    minimum of ``U`` on a coarse grid to avoid overflow.
    """
    temperature = _v.positive("temperature", temperature)
    lo = -20.0 if np.isneginf(lower) else lower
    hi = 20.0 if np.isposinf(upper) else upper
    u0 = np.min(potential(np.linspace(lo, hi, 4001)))
    weight = lambda x: np.exp(-(potential(x) - u0) / temperature)  # noqa: E731
    z = scipy.integrate.quad(weight, lower, upper, epsabs=0, epsrel=1e-12, limit=200)[0]
    num = scipy.integrate.quad(lambda x: f(x) * weight(x), lower, upper, epsabs=0,
                               epsrel=1e-12, limit=200)[0]
    return num / z
