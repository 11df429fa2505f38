"""Template of the compiled trajectory driver (one per model; see :mod:`.codegen`).

This file is valid Python but is not run as it stands: the code generator copies it into a
generated module, replacing the block between the ``bound by codegen`` markers with imports of
a model's kernels and with the loop's structure as module constants: ``GRAD_KIND``,
``NOISE_KIND``, ``MOMENTUM`` (whether a velocity is kept) and ``DIM`` (the dimension for small
models, so that loops over coordinates unroll; 0 = read from the arguments). Numba sees the
kernels as globals, so it can inline them and cache the result on disk (it cannot cache a
function that receives jitted functions as arguments), and it folds the branches on the
constants, so each structure gets a lean loop: 11 ns per step of 2-D Langevin against 16 ns
with runtime branches.
Runtime parameters (step, momentum, noise amplitude, batch size and sampling) stay arguments:
changing them never recompiles.

Update rule, in terms of the codes (``h`` step, ``mu`` momentum, ``sigma`` noise amplitude)::

    g      = ∇L(θ)                      GRAD_FULL
           | (1/b) Σ_{i∈B} ∇ℓ_i(θ)      GRAD_BATCH (B drawn by SAMPLE_*)
           | (1/N) Σ_i ∇ℓ_i(θ)          GRAD_SAMPLES (also keeps every ∇ℓ_i for the SME noise)
    g     −= (1 − γ) E Eᵀ g               PROJECT (Nudged SGD; E frozen per replica, st_E)
    v      = mu v − h g;  θ = θ + v     (mu = 0: θ = θ − h g)
    θ     += sigma ξ_k                  NOISE_EM          (ξ ~ N(0, I), Euler-Maruyama)
           | √(2 h D_j(θ)) ξ_kj         NOISE_MODEL       (the model's diagonal D, Itô)
           | sigma (ξ_k + ξ_{k+1}) / 2  NOISE_LM          (Leimkuhler-Matthews)
           | sigma Σ_i z_i (∇ℓ_i − g)   NOISE_SME         (z ~ N(0, I_N): covariance
                                                           sigma² N C(θ), no matrix root)
"""
import numpy as np

from landscape_sde._kernels.jit import jit
from landscape_sde._kernels.rng import below, normal, seed_replica

GRAD_FULL, GRAD_BATCH, GRAD_SAMPLES = 0, 1, 2
SAMPLE_REPLACE, SAMPLE_WITHOUT, SAMPLE_SHUFFLE = 0, 1, 2
NOISE_NONE, NOISE_EM, NOISE_LM, NOISE_SME, NOISE_MODEL = 0, 1, 2, 3, 4
# runtime parameters: iparams = [batch_size, sampling]; fparams = [h, mu, sigma, 1 − γ]

# >>> bound by codegen
model_loss = model_grad = model_batch_grad = model_sample_grads = model_diffusion = None
GRAD_KIND, NOISE_KIND, MOMENTUM, DIM, PROJECT = GRAD_FULL, NOISE_NONE, False, 0, False
# <<< bound by codegen


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
        theta_out, loss_out, diverged_at, first, last,
        st_rng, st_vel, st_xi, st_perm, st_pos, st_E, fresh, k0):
    """Integrate replicas ``first..last-1`` from step ``k0`` (state ``theta0``) to step
    ``save_at[-1]``, recording them at the absolute steps ``save_at``.

    Writes ``theta_out[s, r]`` and ``loss_out[s, r]`` for each saved step ``save_at[s]`` and
    ``diverged_at[r]``: the first step at which some ``|θ_j| > bound`` or ``θ`` is not finite
    (checked every step), or a saved step whose loss is not finite (the loss is evaluated
    only at saves); −1 if never. Saves at and after divergence are NaN; a replica that
    diverged in an earlier segment (``diverged_at[r] >= 0`` on entry) is not advanced.

    Resumable: the per-replica state (generator ``st_rng``, velocity ``st_vel``, the LM noise
    ``st_xi``, the batch permutation ``st_perm`` and epoch position ``st_pos``) is initialised
    from ``seed_replica(key, r)`` when ``fresh`` and read from the arrays otherwise, and always
    written back, so consecutive segments reproduce one long run bit for bit. Replica ``r``
    draws only from its own stream, so the range a call covers cannot change a path.
    """
    dim = DIM if DIM > 0 else theta0.shape[1]
    n_save = save_at.shape[0]
    n_steps = save_at[n_save - 1]
    batch_size, sampling = iparams[0], iparams[1]
    h, mu, sigma, nudge = fparams[0], fparams[1], fparams[2], fparams[3]
    n_idx = batch_size if GRAD_KIND == GRAD_BATCH else (n_samples if GRAD_KIND == GRAD_SAMPLES else 0)
    n_perm = n_samples if (GRAD_KIND == GRAD_BATCH and sampling != SAMPLE_REPLACE) else 0
    n_g = n_samples if GRAD_KIND == GRAD_SAMPLES else 0
    # Work arrays, allocated once per call (one call per thread) and padded so that two
    # threads never write to the same cache line (false sharing).
    th = _padded(dim)
    vel = _padded(dim if MOMENTUM else 0)
    g = _padded(dim)
    xi = _padded(dim if NOISE_KIND == NOISE_LM else 0)
    z = _padded(n_g)
    dn = _padded(dim if NOISE_KIND == NOISE_SME else 0)
    dd = _padded(dim if NOISE_KIND == NOISE_MODEL else 0)
    idx = _padded(n_idx, np.int64)
    perm = _padded(n_perm, np.int64)
    gs = np.empty((n_g, dim))
    for i in range(n_idx):
        idx[i] = i  # the SME uses all samples; mini-batches overwrite it
    for r in range(first, last):
        if diverged_at[r] >= 0:  # stopped in an earlier segment
            for m in range(n_save):
                theta_out[m, r] = np.nan
                loss_out[m, r] = np.nan
            continue
        if fresh:
            s0, s1, s2, s3 = seed_replica(key, r)
            vel[:] = 0.0  # v_0 = 0
            for i in range(n_perm):
                perm[i] = i
            pos = n_perm  # forces a shuffle before the first epoch
            for j in range(xi.shape[0]):
                xi[j], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        else:
            s0, s1, s2, s3 = st_rng[r, 0], st_rng[r, 1], st_rng[r, 2], st_rng[r, 3]
            vel[:] = st_vel[r]
            perm[:] = st_perm[r]
            pos = st_pos[r]
            xi[:] = st_xi[r]
        th[:] = theta0[r]
        div = -1
        si = 0
        if save_at[0] == k0:
            lval = model_loss(th, data)
            if np.isfinite(lval):
                theta_out[0, r] = th
                loss_out[0, r] = lval
                si = 1
            else:
                div = k0
        next_save = save_at[si] if si < n_save else -1
        n_end = k0 if div >= 0 else n_steps
        for k in range(k0 + 1, n_end + 1):
            if GRAD_KIND == GRAD_FULL:
                model_grad(th, data, g)
            elif GRAD_KIND == GRAD_BATCH:
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
            if PROJECT:  # Nudged SGD: g −= (1 − γ) E Eᵀ g with this replica's frozen E
                for q in range(st_E.shape[1]):
                    c = 0.0
                    for j in range(dim):
                        c += st_E[r, q, j] * g[j]
                    for j in range(dim):
                        g[j] -= nudge * c * st_E[r, q, j]
            if NOISE_KIND == NOISE_SME:  # dn = sigma Σ_i z_i (∇ℓ_i − g)
                for i in range(n_g):
                    e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    z[i] = sigma * e
                dn[:] = 0.0
                for i in range(n_g):
                    for j in range(dim):
                        dn[j] += z[i] * (gs[i, j] - g[j])
            if NOISE_KIND == NOISE_MODEL:  # D(θ) at the start of the step: Itô
                model_diffusion(th, data, dd)
            # One pass: drift, momentum, additive noise and a branch-free divergence check.
            ok = True
            for j in range(dim):
                if MOMENTUM:
                    vel[j] = mu * vel[j] - h * g[j]
                    step = vel[j]
                else:
                    step = -h * g[j]
                if NOISE_KIND == NOISE_EM:
                    e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    step += sigma * e
                elif NOISE_KIND == NOISE_LM:
                    e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    step += 0.5 * sigma * (xi[j] + e)
                    xi[j] = e
                elif NOISE_KIND == NOISE_SME:
                    step += dn[j]
                elif NOISE_KIND == NOISE_MODEL:
                    e, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    step += np.sqrt(2.0 * h * dd[j]) * e
                th[j] += step
                ok &= abs(th[j]) <= bound  # False for NaN too
            if not ok:
                div = k
                break
            if k == next_save:
                lval = model_loss(th, data)
                if not np.isfinite(lval):
                    div = k
                    break
                theta_out[si, r] = th
                loss_out[si, r] = lval
                si += 1
                next_save = save_at[si] if si < n_save else -1
        diverged_at[r] = div
        for m in range(si, n_save):
            theta_out[m, r] = np.nan
            loss_out[m, r] = np.nan
        st_rng[r, 0], st_rng[r, 1], st_rng[r, 2], st_rng[r, 3] = s0, s1, s2, s3
        st_vel[r] = vel
        st_perm[r] = perm
        st_pos[r] = pos
        st_xi[r] = xi
