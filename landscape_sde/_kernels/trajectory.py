"""Template of the compiled trajectory driver (one per model; see :mod:`.codegen`).

This file is valid Python but is not run as it stands: the code generator copies it into a
generated module, replacing the block between the ``model kernels`` markers with imports of a
model's kernels, so that numba sees them as globals, inlines them, and caches the result on disk
(numba cannot cache a function that receives other jitted functions as arguments).

All schemes share the one loop: a scheme is a set of integer codes and float parameters (see
:mod:`landscape_sde.schemes`), so one compilation per model serves GD, SGD, momentum, Langevin,
Leimkuhler-Matthews and the SME. Branches on the codes are loop-invariant and predicted.

Update rule, in terms of the codes (``h`` step, ``mu`` momentum, ``sigma`` noise amplitude)::

    g      = ∇L(θ)                      GRAD_FULL
           | (1/b) Σ_{i∈B} ∇ℓ_i(θ)      GRAD_BATCH (B drawn by SAMPLE_*)
           | (1/N) Σ_i ∇ℓ_i(θ)          GRAD_SAMPLES (also keeps every ∇ℓ_i for the SME noise)
    v      = mu v − h g;  θ = θ + v     (mu = 0: θ = θ − h g)
    θ     += sigma ξ_k                  NOISE_EM          (ξ ~ N(0, I), Euler-Maruyama)
           | sigma (ξ_k + ξ_{k+1}) / 2  NOISE_LM          (Leimkuhler-Matthews)
           | sigma Σ_i z_i (∇ℓ_i − g)   NOISE_SME         (z ~ N(0, I_N): covariance
                                                           sigma² N C(θ), no matrix root)
"""
import numpy as np

from landscape_sde._kernels.jit import jit
from landscape_sde._kernels.rng import below, normal, seed_replica

# >>> model kernels (replaced by codegen)
model_loss = model_grad = model_batch_grad = model_sample_grads = None
# <<< model kernels

GRAD_FULL, GRAD_BATCH, GRAD_SAMPLES = 0, 1, 2
SAMPLE_REPLACE, SAMPLE_WITHOUT, SAMPLE_SHUFFLE = 0, 1, 2
NOISE_NONE, NOISE_EM, NOISE_LM, NOISE_SME = 0, 1, 2, 3
# iparams = [grad_kind, batch_size, sampling, noise_kind]; fparams = [h, mu, sigma]


@jit
def _padded(n, dtype=np.float64):
    """A work vector of length ``n`` with 64 bytes of unused padding on each side."""
    return np.empty(n + 16, dtype)[8:8 + n]


@jit
def _draw_batch(sampling, n, perm, pos, idx, s0, s1, s2, s3):
    """Fill ``idx`` with the next mini-batch: ``(pos, s0, s1, s2, s3)``, ``pos`` the new
    epoch position (shuffle mode).

    Without replacement, a partial Fisher-Yates pass over the persistent permutation ``perm``
    gives a uniform ``b``-subset whatever order ``perm`` is in, at O(b) cost.
    """
    b = idx.shape[0]
    if sampling == SAMPLE_REPLACE:
        for j in range(b):
            idx[j], s0, s1, s2, s3 = below(n, s0, s1, s2, s3)
    elif sampling == SAMPLE_WITHOUT:
        for j in range(b):
            m, s0, s1, s2, s3 = below(n - j, s0, s1, s2, s3)
            m += j
            perm[j], perm[m] = perm[m], perm[j]
            idx[j] = perm[j]
    else:  # epoch shuffling: consecutive slices of a permutation, reshuffled when < b remain
        if pos + b > n:
            for j in range(n - 1, 0, -1):
                m, s0, s1, s2, s3 = below(j + 1, s0, s1, s2, s3)
                perm[j], perm[m] = perm[m], perm[j]
            pos = 0
        for j in range(b):
            idx[j] = perm[pos + j]
        pos += b
    return pos, s0, s1, s2, s3


@jit
def run(data, theta0, n_samples, iparams, fparams, key, save_at, bound,
        theta_out, loss_out, diverged_at, first, last):
    """Integrate replicas ``first..last-1`` from ``theta0`` and record them at ``save_at``.

    Writes ``theta_out[s, r]`` and ``loss_out[s, r]`` for each saved step ``save_at[s]`` and
    ``diverged_at[r]`` (first step at which some ``|θ_j| > bound`` or ``θ``/``L`` is not
    finite; −1 if never). Saves at and after divergence are NaN. Replica ``r`` draws only from
    its own stream ``seed_replica(key, r)``, so the range a call covers cannot change a path.
    """
    dim = theta0.shape[1]
    n_save = save_at.shape[0]
    n_steps = save_at[n_save - 1]
    grad_kind, batch_size, sampling, noise_kind = iparams[0], iparams[1], iparams[2], iparams[3]
    h, mu, sigma = fparams[0], fparams[1], fparams[2]
    n_idx = batch_size if grad_kind == GRAD_BATCH else (n_samples if grad_kind == GRAD_SAMPLES else 0)
    n_perm = n_samples if (grad_kind == GRAD_BATCH and sampling != SAMPLE_REPLACE) else 0
    n_g = n_samples if grad_kind == GRAD_SAMPLES else 0
    # Work arrays, allocated once per call (one call per thread) and padded so that two
    # threads never write to the same cache line (false sharing).
    th = _padded(dim)
    vel = _padded(dim)
    g = _padded(dim)
    xi = _padded(dim if noise_kind == NOISE_LM else 0)
    z = _padded(n_g)
    idx = _padded(n_idx, np.int64)
    perm = _padded(n_perm, np.int64)
    gs = np.empty((n_g, dim))
    for r in range(first, last):
        s0, s1, s2, s3 = seed_replica(key, r)
        th[:] = theta0[r]
        vel[:] = 0.0
        for i in range(n_idx):
            idx[i] = i
        for i in range(n_perm):
            perm[i] = i
        pos = n_perm  # forces a shuffle before the first epoch
        for j in range(xi.shape[0]):
            xi[j], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        div = -1
        si = 0
        if save_at[0] == 0:
            theta_out[0, r] = th
            loss_out[0, r] = model_loss(th, data)
            si = 1
        for k in range(1, n_steps + 1):
            if grad_kind == GRAD_FULL:
                model_grad(th, data, g)
            elif grad_kind == GRAD_BATCH:
                pos, s0, s1, s2, s3 = _draw_batch(sampling, n_samples, perm, pos, idx,
                                                  s0, s1, s2, s3)
                model_batch_grad(th, data, idx, g)
            else:
                model_sample_grads(th, data, idx, gs)
                for j in range(dim):
                    acc = 0.0
                    for i in range(n_g):
                        acc += gs[i, j]
                    g[j] = acc / n_g
            if mu != 0.0:
                for j in range(dim):
                    vel[j] = mu * vel[j] - h * g[j]
                    th[j] += vel[j]
            else:
                for j in range(dim):
                    th[j] -= h * g[j]
            if noise_kind == NOISE_EM:
                for j in range(dim):
                    e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    th[j] += sigma * e
            elif noise_kind == NOISE_LM:
                for j in range(dim):
                    e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    th[j] += 0.5 * sigma * (xi[j] + e)
                    xi[j] = e
            elif noise_kind == NOISE_SME:
                for i in range(n_g):
                    e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    z[i] = sigma * e
                for i in range(n_g):
                    for j in range(dim):
                        th[j] += z[i] * (gs[i, j] - g[j])
            for j in range(dim):
                if not abs(th[j]) <= bound:  # also catches NaN
                    div = k
                    break
            if div < 0 and si < n_save and save_at[si] == k:
                lval = model_loss(th, data)
                if not np.isfinite(lval):
                    div = k
                else:
                    theta_out[si, r] = th
                    loss_out[si, r] = lval
                    si += 1
            if div >= 0:
                break
        diverged_at[r] = div
        for m in range(si, n_save):
            theta_out[m, r] = np.nan
            loss_out[m, r] = np.nan
