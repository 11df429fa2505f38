"""Template of the compiled trajectory driver (one per model and scheme update; see
:mod:`.codegen`).

The code generator copies this file into a generated module, replacing the block between the
``bound by codegen`` markers with imports of a model's kernels (``model_*``) and of a scheme's
compiled update and initialisation (``scheme_update``, ``scheme_init``), and with constants:
``GRAD_KIND`` (the gradient oracle, :mod:`.layout`), ``STAGES`` (gradient evaluations per
step), ``DIFFUSION`` (whether the model's diffusion is evaluated for the scheme) and ``DIM``
(the dimension for small models, so that loops over coordinates unroll; 0 = read from the
arguments). Numba sees the kernels as globals, so it can inline them and cache the result on
disk (it cannot cache a function that receives jitted functions as arguments), and it folds
the branches on the constants.

The driver knows nothing scheme-specific. Per step ``k`` it draws a mini-batch if the oracle
asks for one, then for each stage evaluates the oracle at the stage's point (``θ`` for stage
0, the scheme's work vector ``x`` after that) and calls
``scheme_update(k, stage, θ, oracle, state, r, params, s0, s1, s2, s3) -> (s0, s1, s2, s3)``,
which updates ``θ`` (and the scheme's state row ``r``) in place, drawing from the replica's
generator words ``s0..s3``. Divergence, saving, streaming statistics, first passages and the
resumable state are the driver's.
"""
import numpy as np

from landscape_sde._kernels.jit import jit
from landscape_sde._kernels.layout import (GRAD_BATCH, GRAD_FULL, GRAD_OUTPUTS, GRAD_SAMPLES,
                                           SAMPLE_REPLACE, SAMPLE_WITHOUT, Oracle)
from landscape_sde._kernels.rng import below, seed_replica

# >>> bound by codegen
model_loss = model_grad = model_batch_grad = model_sample_grads = model_diffusion = None
model_sample_output_grads = None
scheme_update = scheme_init = passage_arrived = None
GRAD_KIND, STAGES, DIFFUSION, DIM = GRAD_FULL, 1, False, 0
PASSAGE = False
# <<< bound by codegen


@jit(inline="always")
def _padded(n, dtype=np.float64):
    """A work vector of length ``n`` with 64 bytes of unused padding on each side (inlined, so
    that a constant ``n`` stays visible to LLVM and loops over the vector unroll)."""
    return np.empty(n + 16, dtype)[8:8 + n]


@jit(inline="always")
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


@jit(inline="always")
def _evaluate(pt, data, idx, g, gs, dd):
    """The oracle at ``pt``: ``g`` (and ``gs``, ``dd``) for the compiled ``GRAD_KIND``."""
    if GRAD_KIND == GRAD_FULL:
        model_grad(pt, data, g)
    elif GRAD_KIND == GRAD_BATCH:
        model_batch_grad(pt, data, idx, g)
    elif GRAD_KIND == GRAD_OUTPUTS:  # label noise: the batch gradient and each ∇f_i
        model_batch_grad(pt, data, idx, g)
        model_sample_output_grads(pt, data, idx, gs)
    else:
        model_sample_grads(pt, data, idx, gs)
        for j in range(g.shape[0]):
            acc = 0.0
            for i in range(gs.shape[0]):
                acc += gs[i, j]
            g[j] = acc / gs.shape[0]
    if DIFFUSION:  # D(θ) at the stage's point: Itô for one-stage schemes
        model_diffusion(pt, data, dd)


@jit
def _accumulate(s, b, th, lval, st):
    """Welford update of block ``b`` at global save ``s`` with one replica's ``(θ[cols], L)``
    and its histogram count (bins on ``[lo, hi)``, then under- and overflow)."""
    n = st.cnt[s, b] + 1
    st.cnt[s, b] = n
    nc = st.cols.shape[0]
    for c in range(nc + 1):
        x = lval if c == nc else th[st.cols[c]]
        d = x - st.mean[s, b, c]
        st.mean[s, b, c] += d / n
        st.m2[s, b, c] += d * (x - st.mean[s, b, c])
    if st.hcol >= -1:
        x = lval if st.hcol == -1 else th[st.hcol]
        if x < st.lo:
            st.hist[s, b, st.n_bins] += 1
        elif x >= st.hi:
            st.hist[s, b, st.n_bins + 1] += 1
        else:
            i = int((x - st.lo) / (st.hi - st.lo) * st.n_bins)
            st.hist[s, b, min(i, st.n_bins - 1)] += 1


@jit(inline="always")
def _save(m, r, th, lval, out, stream):
    """Save ``m`` of replica ``r``: its row of ``out`` or, when streaming, the one snapshot row
    and (if the save is streamed) its block's accumulators."""
    if stream.on:
        out.theta[0, r] = th
        out.loss[0, r] = lval
        if stream.index[m] >= 0:
            _accumulate(stream.index[m], r // stream.block, th, lval, stream)
    else:
        out.theta[m, r] = th
        out.loss[m, r] = lval


@jit(forward_records=True)
def drive(data, theta0, seg, loop, params, state, carry, out, stream):
    """Integrate replicas ``seg.first..seg.last-1`` from step ``seg.k0`` (state ``theta0``)
    to step ``seg.save_at[-1]``, recording them at the absolute steps ``seg.save_at``.

    Arguments are the named records of :mod:`.layout` (``seg``, ``loop``, ``carry``, ``out``,
    ``stream``) and the scheme's own ``params`` and per-replica ``state``.

    Writes ``out.theta[s, r]`` and ``out.loss[s, r]`` for each saved step and
    ``out.diverged_at[r]``: the first step at which some ``|θ_j| > loop.bound`` or ``θ`` is not
    finite (checked every step), or a saved step whose loss is not finite (the loss is
    evaluated only at saves); −1 if never. Saves at and after divergence are NaN; a replica
    that diverged in an earlier segment (``diverged_at[r] >= 0`` on entry) is not advanced.

    Resumable: the generator words, batch permutation and epoch position (``carry``) and the
    scheme's state are initialised from ``seed_replica(loop.key, r)`` (then ``scheme_init``)
    when ``seg.fresh`` and read back otherwise, and always written, so consecutive segments
    reproduce one long run bit for bit. Replica ``r`` draws only from its own stream, so the
    range a call covers cannot change a path.

    Streaming statistics (``stream.on``): the saves are not stored per replica; ``out`` has one
    row, overwritten at each save (the final-state snapshot, NaN if diverged), and save ``m``
    with ``stream.index[m] >= 0`` updates block ``r // stream.block`` of the accumulators. A
    block's replicas run in order inside one call, so each block's accumulators are
    deterministic; the caller merges blocks in a fixed order. First passages (independent of
    ``stream.on``; checked at every step ``>= k0``): ``passage[r, 0]`` = first step with
    ``L(θ) < loss_below`` if ``fp_loss``, ``passage[r, 1]`` = first step with
    ``max_j |θ_j| > abs_above`` if ``fp_level``, ``passage[r, 2]`` = first step in the set
    ``stream.target`` (``passage_arrived``, :mod:`.passage`); entries already ``>= 0`` are kept.
    With ``target.stop`` a replica stops at that step: its later saves hold the arrival state
    (the stopped process ``θ_{min(k, τ)}``), it is not advanced in later segments, and it is
    not flagged as diverged.
    """
    dim = DIM if DIM > 0 else theta0.shape[1]
    save_at, k0 = seg.save_at, seg.k0
    n_save = save_at.shape[0]
    n_samples, batch_size, sampling, bound = loop.n_samples, loop.batch_size, loop.sampling, loop.bound
    n_idx = batch_size if GRAD_KIND == GRAD_BATCH else (n_samples if GRAD_KIND == GRAD_SAMPLES else 0)
    # the outputs oracle draws a batch unless it is the full batch (batch_size = N)
    batched = GRAD_KIND == GRAD_BATCH or (GRAD_KIND == GRAD_OUTPUTS and batch_size < n_samples)
    if GRAD_KIND == GRAD_OUTPUTS:
        n_idx = batch_size
    n_perm = n_samples if (batched and sampling != SAMPLE_REPLACE) else 0
    n_g = n_samples if GRAD_KIND == GRAD_SAMPLES else (n_idx if GRAD_KIND == GRAD_OUTPUTS else 0)
    # Work arrays, allocated once per call (one call per thread) and padded so that two
    # threads never write to the same cache line (false sharing). θ, g, x and D are views of
    # one allocation at offsets fixed by the dimension: LLVM then knows they never overlap
    # (separate allocations might, for all it knows, so every store to g would force θ to be
    # reloaded), which lets the coordinates' dependency chains overlap (1.6x on a 2-D step).
    w = _padded(4 * dim + 24)
    th, g, x = w[0:dim], w[dim + 8:2 * dim + 8], w[2 * dim + 16:3 * dim + 16]
    dd = w[3 * dim + 24:3 * dim + 24 + (dim if DIFFUSION else 0)]
    gs = np.empty((n_g, dim))
    o = Oracle(g, gs, dd, x)
    idx = _padded(n_idx, np.int64)
    perm = _padded(n_perm, np.int64)
    for i in range(n_idx):
        idx[i] = i  # the samples oracle uses all samples; mini-batches overwrite it
    # Record fields as locals, for readability (the record pipeline would hoist them too).
    theta_out, loss_out, diverged_at = out.theta, out.loss, out.diverged_at
    rng_carry, perm_carry, pos_carry = carry.rng, carry.perm, carry.pos
    streaming, passage = stream.on, stream.passage
    fp_loss, loss_below, fp_level, abs_above = (stream.fp_loss, stream.loss_below,
                                                stream.fp_level, stream.abs_above)
    tgt = stream.target
    fp_set = PASSAGE and tgt.kind != 0  # a compile-time False folds the tests away
    fp_stop = fp_set and tgt.stop
    fresh, key = seg.fresh, loop.key
    for r in range(seg.first, seg.last):
        if diverged_at[r] >= 0:  # stopped in an earlier segment
            for m in range(theta_out.shape[0]):
                theta_out[m, r] = np.nan
                loss_out[m, r] = np.nan
            continue
        th[:] = theta0[r]
        if fresh:
            s0, s1, s2, s3 = seed_replica(key, r)
            for i in range(n_perm):
                perm[i] = i
            pos = n_perm  # forces a shuffle before the first epoch
            s0, s1, s2, s3 = scheme_init(th, state, r, params, s0, s1, s2, s3)
        else:
            s0, s1, s2, s3 = rng_carry[r, 0], rng_carry[r, 1], rng_carry[r, 2], rng_carry[r, 3]
            perm[:] = perm_carry[r]
            pos = pos_carry[r]
        div = -1
        si = 0
        if save_at[0] == k0:
            lval = model_loss(th, data)
            if np.isfinite(lval):
                _save(0, r, th, lval, out, stream)
                si = 1
            else:
                div = k0
        # First passages are carried in locals: the inner loop then stores only to θ and the
        # scheme's state, so LLVM keeps θ in registers across steps (a store to any other
        # array in the loop could overlap θ, for all it knows).
        p_loss, p_level, p_set = passage[r, 0], passage[r, 1], passage[r, 2]
        if fp_loss and p_loss < 0 and div < 0 and model_loss(th, data) < loss_below:
            p_loss = k0
        if fp_level and p_level < 0 and div < 0 and _abs_max(th) > abs_above:
            p_level = k0
        if fp_set and p_set < 0 and div < 0 and passage_arrived(th, tgt):
            p_set = k0
        halt = fp_stop and div < 0 and p_set >= 0  # arrived: stopped here or before
        k = k0
        while div < 0 and not halt and si < n_save:
            for k in range(k + 1, save_at[si] + 1):  # the steps up to the next save
                if batched:
                    pos, s0, s1, s2, s3 = _draw_batch(sampling, n_samples, perm, pos, idx,
                                                      s0, s1, s2, s3)
                for stage in range(STAGES):  # the oracle at θ, then at the scheme's point x
                    if stage == 0:  # two calls, not one on a selected array: no per-step copy
                        _evaluate(th, data, idx, g, gs, dd)
                    else:
                        _evaluate(x, data, idx, g, gs, dd)
                    s0, s1, s2, s3 = scheme_update(k, stage, th, o, state, r, params,
                                                   s0, s1, s2, s3)
                ok = True
                for j in range(dim):
                    ok &= abs(th[j]) <= bound  # False for NaN too
                if not ok:
                    div = k
                    break
                if fp_loss and p_loss < 0 and model_loss(th, data) < loss_below:
                    p_loss = k
                if fp_level and p_level < 0 and _abs_max(th) > abs_above:
                    p_level = k
                if fp_set and p_set < 0 and passage_arrived(th, tgt):
                    p_set = k
                    halt = fp_stop
                    if halt:
                        break
            if div >= 0 or halt:
                break
            lval = model_loss(th, data)  # k is the save step
            if not np.isfinite(lval):
                div = k
                break
            _save(si, r, th, lval, out, stream)
            si += 1
        if halt and div < 0:  # stopped on arrival: the remaining saves hold the arrival state
            lval = model_loss(th, data)
            for m in range(si, n_save):
                _save(m, r, th, lval, out, stream)
            si = n_save
        passage[r, 0], passage[r, 1], passage[r, 2] = p_loss, p_level, p_set
        diverged_at[r] = div
        for m in range(0 if streaming and div >= 0 else si, theta_out.shape[0]):
            theta_out[m, r] = np.nan
            loss_out[m, r] = np.nan
        rng_carry[r, 0], rng_carry[r, 1], rng_carry[r, 2], rng_carry[r, 3] = s0, s1, s2, s3
        perm_carry[r] = perm
        pos_carry[r] = pos
