"""Streaming statistics of an ensemble, accumulated inside the compiled loop.

``simulate(..., stream=Streaming(...))`` does not keep trajectories: at every saved step the
compiled loop folds each live replica into running statistics, so a run's memory does not grow
with ``n_steps`` (only with the number of saved steps) and, for the moments and histograms, not
with ``n_replicas`` either:

- moments: count, mean and unbiased variance across live replicas of chosen coordinates
  ``θ_j`` and of the loss ``L``, by Welford's update (Welford 1962), per saved step;
- a histogram on fixed bins of ``L`` or of one coordinate, per saved step (integer counts,
  plus under- and overflow);
- first-passage times per replica: the first step with ``L(θ) < loss_below`` and the first
  step with ``max_j |θ_j| > abs_above`` (checked at every step), beside the divergence step
  that :func:`landscape_sde.simulate` always records, and the first step in a ``target`` set
  (:mod:`landscape_sde.passage`), optionally stopping each replica there;
- the final state of every replica (the ensemble's single saved row).

Determinism: replicas are grouped into at most ``blocks`` fixed blocks of consecutive indices
(the grouping depends only on ``n_replicas``). A block runs whole inside one thread, in replica
order, into its own accumulators; the blocks are then merged in index order with Chan, Golub &
LeVeque's pairwise formula. Thread chunks always hold whole blocks, so the statistics are
bit-identical for any thread count or chunking, and equal to NumPy's statistics of the full
trajectories up to rounding (``~1e-15`` relative).
"""
import dataclasses

import numpy as np

from . import checks as _v
from ._kernels.layout import Stream
from .passage import target_record

__all__ = ["Streaming"]


@dataclasses.dataclass(frozen=True)
class Streaming:
    """What :func:`landscape_sde.simulate` accumulates instead of storing trajectories.

    Parameters
    ----------
    coords : sequence of int or None
        Coordinates ``j`` of ``θ`` whose moments are kept (the loss always is). ``None``: all
        coordinates if ``dim <= 64``, none otherwise.
    histogram : tuple or None
        ``(what, lo, hi, n_bins)`` with ``what = "loss"`` or a coordinate index: counts on
        ``n_bins`` equal bins over ``[lo, hi)`` at every saved step.
    loss_below : float or None
        Record the first step with ``L(θ) < loss_below`` (costs one loss evaluation per step).
    abs_above : float or None
        Record the first step with ``max_j |θ_j| > abs_above``.
    target : Level, Ball or Predicate, optional
        Record the first step in this set (:mod:`landscape_sde.passage`) as
        ``stats["first_passage"]`` (−1: never).
    stop : bool
        Stop each replica when it enters ``target``: its later saves hold the arrival state;
        it is not counted as diverged.
    blocks : int
        Maximum number of replica blocks (the unit of thread parallelism, ``>= 1``).
    """

    coords: tuple = None
    histogram: tuple = None
    loss_below: float = None
    abs_above: float = None
    target: object = None
    stop: bool = False
    blocks: int = 32

    def __post_init__(self):
        if self.coords is not None:
            try:
                coords = tuple(int(_v.integer("coords", c, low=0)) for c in self.coords)
            except TypeError:
                raise TypeError(f"coords: expected a sequence of coordinate indices or None, "
                                f"got {self.coords!r}") from None
            object.__setattr__(self, "coords", coords)
        if self.histogram is not None:
            if not (isinstance(self.histogram, (tuple, list)) and len(self.histogram) == 4):
                raise TypeError("histogram: expected (what, lo, hi, n_bins) with what = 'loss' "
                                f"or a coordinate index, got {self.histogram!r}")
            what, lo, hi, n_bins = self.histogram
            if what != "loss":
                what = _v.integer("histogram what", what, low=0)
            lo, hi = _v.real("histogram lo", lo), _v.real("histogram hi", hi)
            if hi <= lo:
                raise ValueError(f"histogram: expected lo < hi, got lo={lo!r}, hi={hi!r}")
            object.__setattr__(self, "histogram",
                               (what, lo, hi, _v.integer("histogram n_bins", n_bins, low=1)))
        if self.loss_below is not None:
            object.__setattr__(self, "loss_below", _v.real("loss_below", self.loss_below))
        if self.abs_above is not None:
            object.__setattr__(self, "abs_above", _v.positive("abs_above", self.abs_above))
        from .passage import Ball, Level, Predicate
        if self.target is not None and not isinstance(self.target, (Level, Ball, Predicate)):
            raise TypeError("target: expected landscape_sde.passage.Level, Ball or Predicate, "
                            f"or None, got {type(self.target).__name__} {self.target!r}")
        object.__setattr__(self, "stop", _v.boolean("stop", self.stop))
        if self.stop and self.target is None:
            raise ValueError("stop: stop=True needs a target set to stop at; got target=None")
        object.__setattr__(self, "blocks", _v.integer("blocks", self.blocks, low=1))

    # --- used by simulate ----------------------------------------------------------------
    def meta(self):
        """The settings as JSON-serialisable values (the target set by its description)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.target is not None:
            out["target"] = self.target.describe()
        return out

    def columns(self, dim):
        """Coordinates whose moments are kept, checked against ``dim``."""
        if self.coords is None:
            return np.arange(dim if dim <= 64 else 0, dtype=np.int64)
        bad = [c for c in self.coords if c >= dim]
        if bad:
            raise ValueError(f"coords: indices must be < dim = {dim}, got {bad}")
        return np.array(self.coords, dtype=np.int64)

    def histogram_column(self, dim):
        """``-2`` (none), ``-1`` (loss) or a coordinate index, checked against ``dim``."""
        if self.histogram is None:
            return -2
        what = self.histogram[0]
        if what == "loss":
            return -1
        if what >= dim:
            raise ValueError(f"histogram: coordinate must be < dim = {dim}, got {what}")
        return what

    def block_size(self, n_replicas):
        return -(-n_replicas // min(self.blocks, n_replicas))

    def allocate(self, model_dim, n_saved, n_replicas, on=True):
        """The loop's :class:`~landscape_sde._kernels.layout.Stream` record: settings and
        zeroed accumulators (``on=False``: first passages only, no statistics)."""
        cols = self.columns(model_dim)
        hcol = self.histogram_column(model_dim)
        block = self.block_size(n_replicas) if on else 1
        n_blocks = -(-n_replicas // block)
        n_bins = self.histogram[3] if self.histogram else 0
        lo, hi = (self.histogram[1], self.histogram[2]) if self.histogram else (0.0, 1.0)
        n_saved = n_saved if on else 0
        return Stream(index=np.zeros(0, np.int64), on=bool(on), block=int(block), hcol=int(hcol),
                      n_bins=int(n_bins), lo=float(lo), hi=float(hi),
                      fp_loss=self.loss_below is not None, fp_level=self.abs_above is not None,
                      loss_below=float(self.loss_below or 0.0),
                      abs_above=float(self.abs_above or 0.0), cols=cols,
                      cnt=np.zeros((n_saved, n_blocks), np.int64),
                      mean=np.zeros((n_saved, n_blocks, cols.size + 1)),
                      m2=np.zeros((n_saved, n_blocks, cols.size + 1)),
                      hist=np.zeros((n_saved, n_blocks, n_bins + 2 if hcol >= -1 else 0), np.int64),
                      passage=np.full((n_replicas, 3), -1, np.int64),
                      target=target_record(self.target, model_dim, self.stop))

    def results(self, steps, acc):
        """Merge the block accumulators of ``acc`` (a Stream record) in block order: the
        ``Ensemble.stats`` dict."""
        count, mu, M2 = merge_moments(acc.cnt, acc.mean, acc.m2)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(count[:, None] > 1, M2 / (count[:, None] - 1), np.nan)
        mu = np.where(count[:, None] > 0, mu, np.nan)
        out = {"t": steps.copy(), "coords": acc.cols.copy(), "count": count, "mean": mu, "var": var}
        if self.histogram is not None:
            h = acc.hist.sum(axis=1)  # integers: exact in any order
            n_bins = self.histogram[3]
            out["hist"] = h[:, :n_bins]
            out["hist_under"], out["hist_over"] = h[:, n_bins], h[:, n_bins + 1]
            out["hist_edges"] = np.linspace(self.histogram[1], self.histogram[2], n_bins + 1)
        if self.loss_below is not None:
            out["first_passage_loss"] = acc.passage[:, 0].copy()
        if self.abs_above is not None:
            out["first_passage_level"] = acc.passage[:, 1].copy()
        if self.target is not None:
            out["first_passage"] = acc.passage[:, 2].copy()
        return out


def merge_moments(cnt, mean, m2):
    """Merge per-block ``(count, mean, M2)`` over axis 1, blocks in index order (Chan, Golub
    & LeVeque 1979): ``n = n_a + n_b``, ``δ = μ_b − μ_a``, ``μ = μ_a + δ n_b / n``,
    ``M2 = M2_a + M2_b + δ² n_a n_b / n``."""
    n = cnt[:, 0].astype(np.float64)
    mu, M2 = mean[:, 0].copy(), m2[:, 0].copy()
    for b in range(1, cnt.shape[1]):
        nb = cnt[:, b].astype(np.float64)
        tot = n + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(tot > 0, nb / tot, 0.0)[:, None]
            delta = mean[:, b] - mu
            mu = mu + delta * w
            M2 = M2 + m2[:, b] + delta * delta * (n * w[:, 0])[:, None]
        n = tot
    return n.astype(np.int64), mu, M2
