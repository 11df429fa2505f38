"""The drift that label noise induces along a manifold of minima, for diagonal linear
networks (the product network is ``d = 1``); derivation in ``docs/label_noise.md`` and
:func:`analysis.derivations.label_noise_drift`.

Convention. Label-noise SGD (:class:`landscape_sde.LabelNoiseSGD`) with step ``η``, label
standard deviation ``σ`` and batch size ``b`` adds to the batch gradient a mean-zero term of
covariance ``(σ²/b) G_B`` (``G_B`` the batch Gauss-Newton matrix, the Hessian at
interpolation). To leading order in ``η`` the iterates then follow the manifold ``Γ`` with the
per-step drift ``−(η²σ²/4b) ∇_Γ tr ∇²L``, i.e. ``dθ/dt = −(ησ²/4b) ∇_Γ tr ∇²L`` in the SDE
time ``t = kη`` (Blanc et al. 2020; Damian et al. 2021; Li, Wang & Arora 2022, for noise
covariance proportional to the Hessian). For ``f = Σ_j u_j v_j x_j`` with
``(1/N) XᵀX = diag(m)``, ``tr ∇²L = Σ_j m_j (u_j² + v_j²)`` on ``Γ`` and the drift shrinks each
balance ``D_j = u_j² − v_j²`` geometrically.
"""
import numpy as np

from landscape_sde import checks as _v

__all__ = ["balance_rate", "predicted_balance"]


def balance_rate(lr, sigma, second_moment, batch_size, sharpness=None):
    """Expected fractional decrease per step of the balance ``D_j = u_j² − v_j²`` near the
    manifold: ``E[1 − D_j'/D_j] = η² σ² m_j / b`` to leading order, times ``2 / (2 − η λ_j)``
    when ``sharpness`` ``λ_j = m_j (u_j² + v_j²)`` is given (the exact factor for the full
    batch, from the stationary fluctuation of the product ``u_j v_j`` off the manifold;
    first order in ``ηλ`` otherwise).

    Parameters
    ----------
    lr, sigma : float
        ``η > 0`` and ``σ >= 0``.
    second_moment : float or array
        ``m_j = (1/N) Σ_n x_nj²``.
    batch_size : int
        ``b`` (``N`` for the full batch).
    sharpness : float or array, optional
        ``λ_j``; must satisfy ``η λ_j < 2``.
    """
    lr = _v.positive("lr", lr)
    sigma = _v.real("sigma", sigma, low=0.0)
    b = _v.integer("batch_size", batch_size, low=1)
    rate = lr**2 * sigma**2 * np.asarray(second_moment, dtype=float) / b
    if sharpness is not None:
        lam = lr * np.asarray(sharpness, dtype=float)
        if np.any(lam >= 2):
            raise ValueError(f"sharpness: expected lr * sharpness < 2 (stable), got {lam}")
        rate = rate * 2.0 / (2.0 - lam)
    return rate


def predicted_balance(balance0, product, second_moment, lr, sigma, batch_size, n_steps,
                      corrected=True):
    """``E D_j`` after ``0..n_steps`` steps from ``D_j(0) = balance0`` on the manifold
    ``u_j v_j = product``: ``D_{k+1} = (1 − r(D_k)) D_k`` with ``r`` from :func:`balance_rate`
    at the sharpness ``m_j √(D_k² + 4 β_j²)`` (``corrected``) or at leading order.

    Returns an array ``(n_steps + 1, d)``.
    """
    D = np.atleast_1d(np.asarray(balance0, dtype=float)).copy()
    beta = np.broadcast_to(np.asarray(product, dtype=float), D.shape)
    m = np.broadcast_to(np.asarray(second_moment, dtype=float), D.shape)
    n = _v.integer("n_steps", n_steps, low=0)
    out = np.empty((n + 1, D.size))
    out[0] = D
    for k in range(n):
        lam = m * np.sqrt(D**2 + 4 * beta**2) if corrected else None
        D = D * (1.0 - balance_rate(lr, sigma, m, batch_size, lam))
        out[k + 1] = D
    return out
