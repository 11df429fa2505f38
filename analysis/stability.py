"""Linear (mean-square) stability of SGD at an interpolating minimum (Wu, Ma & E, NeurIPS 2018).

Near a minimum ``θ*`` where every per-sample gradient vanishes, one SGD step maps the deviation
``δ`` to ``(I − η H_B) δ``, ``H_B`` the batch Hessian. The second moment ``M = E[δδᵀ]`` obeys
the exact linear recursion ``M ← (I − ηH) M (I − ηH) + η² c_b (1/N) Σ_i (H_i − H) M (H_i − H)``
(the batch average of ``H_B M H_B``, with ``c_b`` the batch factor). SGD can stay at ``θ*`` iff
the spectral radius of that map is below 1; for GD (``c_b = 0``) this is ``η λ_max < 2``.
"""
import numpy as np

from landscape_sde import checks as _v
from landscape_sde.noise import batch_noise_factor

__all__ = ["per_sample_hessians", "mean_square_stability", "wu_ma_e_criterion"]


def per_sample_hessians(model, theta):
    """``∇²ℓ_i(θ)`` for every sample, shape ``(N, dim, dim)``, from ``N·dim`` compiled batch HVPs."""
    theta = _v.finite_array("theta", theta, shape=(model.dim,))
    kernel = model.compiled("batch_hvp")
    out = np.empty((model.n_samples, model.dim, model.dim))
    col = np.empty(model.dim)
    for i in range(model.n_samples):
        idx = np.array([i], dtype=np.int64)
        for j, e in enumerate(np.eye(model.dim)):
            kernel(theta, model.data, idx, e, col)
            out[i, :, j] = col
    return out


def mean_square_stability(model, theta, lr, batch_size, replace=False):
    """Spectral radius of the exact second-moment map of SGD at the minimum ``theta``
    (``< 1``: SGD stays; ``> 1``: the mean-square deviation grows geometrically at that rate)."""
    lr = _v.positive("lr", lr)
    Hi = per_sample_hessians(model, theta)
    H = Hi.mean(axis=0)
    c_b = batch_noise_factor(model.n_samples, batch_size, replace)
    A = np.eye(model.dim) - lr * H
    D = Hi - H
    T = np.kron(A, A) + lr**2 * c_b * np.einsum("nab,ncd->acbd", D, D).reshape(
        model.dim**2, model.dim**2) / model.n_samples
    return float(np.max(np.abs(np.linalg.eigvals(T))))


def wu_ma_e_criterion(model, theta, lr, batch_size, replace=False):
    """``λ_max[(I − ηH)² + η² c_b Σ_H]`` with ``Σ_H = (1/N) Σ_i H_i² − H²``:
    the quantity Wu, Ma & E bound by 1. It equals :func:`mean_square_stability` when the
    ``H_i`` commute and bounds the growth of ``E‖δ‖²`` in general."""
    lr = _v.positive("lr", lr)
    Hi = per_sample_hessians(model, theta)
    H = Hi.mean(axis=0)
    c_b = batch_noise_factor(model.n_samples, batch_size, replace)
    sigma = np.einsum("nab,nbc->ac", Hi, Hi) / model.n_samples - H @ H
    M = (np.eye(model.dim) - lr * H) @ (np.eye(model.dim) - lr * H) + lr**2 * c_b * sigma
    return float(np.linalg.eigvalsh(0.5 * (M + M.T))[-1])
