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

__all__ = ["balance_rate", "predicted_balance", "predicted_balance_minibatch"]


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


def predicted_balance_minibatch(balance0, x, y, lr, batch_size, n_steps):
    """``E D`` of mini-batch SGD (without replacement) on the product network ``f = w₁w₂x``
    with fixed targets ``y``, from ``D(0) = balance0`` on the valley ``w₁w₂ = c``
    (``c = Σxy/Σx²``): ``(n_steps + 1,)``.

    The noise matched to label noise of size ``σ² m / N = c_b Var_n e_n`` (``e_n = (c x_n −
    y_n) x_n``, ``c_b = (N − b)/(b(N − 1))``) gives the same leading rate ``η² c_b Var_n e_n``,
    but its variance grows off the valley, ``Var_n e_n(δ) = Var e + 2δ Cov(x², e) + δ² Var x²``
    with ``δ = w₁w₂ − c``. With the stationary ``Var δ = A c_b (Var e + Var δ · Var x²)``,
    ``A = ηS / (m (2 − ηλ))`` (``S = w₁² + w₂²``, ``λ = mS``), the rate per step is
    ``η² (m² Var δ + c_b (Var e + Var x² · Var δ))``; first order in ``ηλ`` beyond the
    leading term.
    """
    from landscape_sde.noise import batch_noise_factor
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    lr = _v.positive("lr", lr)
    c = float(x @ y / (x @ x))
    m, e = float(np.mean(x**2)), (c * x - y) * x
    ve, v2 = float(np.var(e)), float(np.var(x**2))
    cb = batch_noise_factor(x.size, _v.integer("batch_size", batch_size, low=1))
    D = float(balance0)
    out = np.empty(_v.integer("n_steps", n_steps, low=0) + 1)
    out[0] = D
    for k in range(out.size - 1):
        S = np.sqrt(D**2 + 4 * c**2)
        A = lr * S / (m * (2 - lr * m * S))
        var_delta = A * cb * ve / (1 - A * cb * v2)
        D *= 1 - lr**2 * (m**2 * var_delta + cb * (ve + v2 * var_delta))
        out[k + 1] = D
    return out
