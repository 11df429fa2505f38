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
# streaming: s_int = [on, block size, histogram column (−2 none, −1 loss, j), n_bins,
# loss first passage on, level first passage on]; s_flt = [hist lo, hist hi, loss_below, abs_above]
STREAM_NINT = 6

# >>> bound by codegen
model_loss = model_grad = model_batch_grad = model_sample_grads = model_diffusion = None
GRAD_KIND, NOISE_KIND, MOMENTUM, DIM, PROJECT = GRAD_FULL, NOISE_NONE, False, 0, False
# <<< bound by codegen


@jit
def _padded(n, dtype=np.float64):
    """A work vector of length ``n`` with 64 bytes of unused padding on each side."""
    return np.empty(n + 16, dtype)[8:8 + n]


@jit
def _abs_max(th):
    m = 0.0
    for j in range(th.shape[0]):
        m = max(m, abs(th[j]))
    return m


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
    """:func:`drive` without streaming statistics (the original signature)."""
    z1 = np.zeros(0, np.int64)
    zf = np.zeros(4)
    z2 = np.zeros((0, 0), np.int64)
    z3 = np.zeros((0, 0, 0))
    drive(data, theta0, n_samples, iparams, fparams, key, save_at, bound, theta_out, loss_out,
          diverged_at, first, last, st_rng, st_vel, st_xi, st_perm, st_pos, st_E, fresh, k0,
          z1, np.zeros(STREAM_NINT, np.int64), zf, z1, z2, z3, z3,
          np.zeros((0, 0, 0), np.int64), z2)


@jit
def _accumulate(s, b, th, lval, cols, cnt, mean, m2, hist, hcol, n_bins, lo, hi):
    """Welford update of block ``b`` at global save ``s`` with one replica's ``(θ[cols], L)``
    and its histogram count (bins ``n_bins`` on ``[lo, hi)``, then under- and overflow)."""
    n = cnt[s, b] + 1
    cnt[s, b] = n
    nc = cols.shape[0]
    for c in range(nc + 1):
        x = lval if c == nc else th[cols[c]]
        d = x - mean[s, b, c]
        mean[s, b, c] += d / n
        m2[s, b, c] += d * (x - mean[s, b, c])
    if hcol >= -1:
        x = lval if hcol == -1 else th[hcol]
        if x < lo:
            hist[s, b, n_bins] += 1
        elif x >= hi or not (x == x):  # overflow bin also takes NaN (cannot happen: finite)
            hist[s, b, n_bins + 1] += 1
        else:
            i = int((x - lo) / (hi - lo) * n_bins)
            hist[s, b, min(i, n_bins - 1)] += 1


@jit
def drive(data, theta0, n_samples, iparams, fparams, key, save_at, bound,
          theta_out, loss_out, diverged_at, first, last,
          st_rng, st_vel, st_xi, st_perm, st_pos, st_E, fresh, k0,
          s_index, s_int, s_flt, s_cols, s_cnt, s_mean, s_m2, s_hist, passage):
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

    Streaming statistics (``s_int[0] == 1``; runtime flags, so no extra compiled loop): the
    saves are not stored per replica; ``theta_out``/``loss_out`` have one row, overwritten
    at each save (the final-state snapshot, NaN if diverged), and save ``m`` with
    ``s_index[m] >= 0`` updates block ``r // s_int[1]`` of the accumulators at global save
    ``s_index[m]``: count ``s_cnt[s, b]``, Welford mean and M2 ``s_mean/s_m2[s, b, c]`` of
    ``(θ[s_cols], L)`` and, if ``s_int[2] >= -1``, a histogram ``s_hist[s, b]`` of ``L``
    (``-1``) or ``θ[s_int[2]]`` on ``s_int[3]`` bins over ``[s_flt[0], s_flt[1])`` plus under-
    and overflow counts. A block's replicas run in order inside one call, so each block's
    accumulators are deterministic; the caller merges blocks in a fixed order.
    First passages (independent of the streaming flag; checked at every step ``>= k0``):
    ``passage[r, 0]`` = first step with ``L(θ) < s_flt[2]`` if ``s_int[4]``, ``passage[r, 1]``
    = first step with ``max_j |θ_j| > s_flt[3]`` if ``s_int[5]``; entries already ``>= 0``
    are kept (−1 = not yet).
    """
    stream = s_int[0] == 1
    block = s_int[1]
    hcol, n_bins = s_int[2], s_int[3]
    fp_loss, fp_level = s_int[4] == 1, s_int[5] == 1
    h_lo, h_hi, loss_below, abs_above = s_flt[0], s_flt[1], s_flt[2], s_flt[3]
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
            for m in range(theta_out.shape[0]):
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
                if stream and s_index[0] >= 0:
                    _accumulate(s_index[0], r // block, th, lval, s_cols, s_cnt, s_mean, s_m2,
                                s_hist, hcol, n_bins, h_lo, h_hi)
                si = 1
            else:
                div = k0
        if fp_loss and passage[r, 0] < 0 and div < 0 and model_loss(th, data) < loss_below:
            passage[r, 0] = k0
        if fp_level and passage[r, 1] < 0 and div < 0 and _abs_max(th) > abs_above:
            passage[r, 1] = k0
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
            if fp_loss and passage[r, 0] < 0 and model_loss(th, data) < loss_below:
                passage[r, 0] = k
            if fp_level and passage[r, 1] < 0 and _abs_max(th) > abs_above:
                passage[r, 1] = k
            if k == next_save:
                lval = model_loss(th, data)
                if not np.isfinite(lval):
                    div = k
                    break
                if stream:
                    theta_out[0, r] = th
                    loss_out[0, r] = lval
                    if s_index[si] >= 0:
                        _accumulate(s_index[si], r // block, th, lval, s_cols, s_cnt, s_mean,
                                    s_m2, s_hist, hcol, n_bins, h_lo, h_hi)
                else:
                    theta_out[si, r] = th
                    loss_out[si, r] = lval
                si += 1
                next_save = save_at[si] if si < n_save else -1
        diverged_at[r] = div
        for m in range(0 if stream and div >= 0 else si, theta_out.shape[0]):
            theta_out[m, r] = np.nan
            loss_out[m, r] = np.nan
        st_rng[r, 0], st_rng[r, 1], st_rng[r, 2], st_rng[r, 3] = s0, s1, s2, s3
        st_vel[r] = vel
        st_perm[r] = perm
        st_pos[r] = pos
        st_xi[r] = xi
