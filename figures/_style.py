"""Shared look of the figures and the helpers they draw with.

Conventions, once for every figure:

- **Error bars.** Wherever a plotted number is statistical it carries ±1 standard error (s.e.)
  of the mean over independent replicas (or of a batch-means / Poisson estimate where the
  caption says so), drawn as a band (:func:`band`) or bars. Captions say ``± 1 s.e.``
  (:data:`SE`); nothing in the package draws 2 s.e. or spreads.
- **Colour.** The Okabe-Ito palette (:data:`PALETTE`, colour-blind safe), with a marker or dash
  per series (:data:`MARKERS`, :data:`DASHES`) so that a greyscale print still separates them;
  ``viridis``/``cividis`` for sequential maps, always with a colour bar.
- **Layout.** ``constrained_layout``, short panel titles (the claims live in the README
  captions), panel letters (:func:`letter`), fonts ≥ 8 pt at the stored size (figures are
  drawn at their printed width, ≤ 7.2 in), 200 dpi.
- **Log axes** get plain major labels only (:func:`log_ticks`), never ``6×10⁰`` minor labels.
"""
import string

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator  # noqa: E402

# Okabe & Ito (2008): black, orange, sky blue, bluish green, yellow, blue, vermillion, purple
PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
# the cycle skips black (kept for theory) and yellow (unreadable on white as a thin line)
CYCLE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
DASHES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1))]
COLORS = {"SGD": "#0072B2", "SME": "#D55E00", "Langevin": "#009E73", "theory": "black"}
SE = "± 1 s.e."

plt.rcParams.update({
    "figure.dpi": 200, "savefig.dpi": 200, "font.size": 8, "axes.titlesize": 8.5,
    "axes.labelsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 7.5,
    "figure.titlesize": 9, "axes.spines.top": False, "axes.spines.right": False,
    "legend.frameon": False, "figure.constrained_layout.use": True,
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE), "image.cmap": "viridis",
    "lines.markersize": 4, "errorbar.capsize": 2,
})


def save(fig, path):
    """Write a PNG without a timestamp or version in its metadata (stable bytes)."""
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def letter(axes):
    """Panel letters (a), (b), ... : each axis's title moves to the left, after its letter."""
    for k, ax in enumerate(np.ravel(axes)):
        title = ax.get_title()
        ax.set_title("")
        ax.set_title(f"({string.ascii_lowercase[k]})  {title}".rstrip(), loc="left")


def band(ax, x, mean, se, *, alpha=0.25, **kw):
    """A line at ``mean`` with a ±1 s.e. band; returns the line."""
    x, mean, se = (np.asarray(a, dtype=float) for a in (x, mean, se))
    line, = ax.plot(x, mean, **kw)
    ax.fill_between(x, mean - se, mean + se, color=line.get_color(), alpha=alpha, lw=0)
    return line


def mean_se(a, axis):
    """Mean and standard error of the mean over ``axis``, ignoring NaN; also the count."""
    a = np.asarray(a, dtype=float)
    n = np.sum(np.isfinite(a), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(a, axis=axis) if a.size else a
        sd = np.nanstd(a, axis=axis, ddof=1) if np.max(n, initial=0) > 1 else np.zeros_like(mean)
        return mean, np.where(n > 1, sd / np.sqrt(np.maximum(n, 1)), np.nan), n


def _plain(v, _pos=None):
    return f"{v:g}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")


def log_ticks(ax, axis="x", ticks=None):
    """Plain labels on a log ``axis``: at ``ticks`` if given, else at 1, 2, 5 × 10^k; no minor labels."""
    a = ax.xaxis if axis == "x" else ax.yaxis
    if ticks is not None:
        a.set_major_locator(FixedLocator(list(ticks)))
        a.set_minor_locator(NullLocator())
    else:
        a.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    a.set_major_formatter(FuncFormatter(_plain))
    a.set_minor_formatter(NullFormatter())


def ellipse(ax, mean, cov, n_sigma=(1, 2), **kw):
    """Draw the ``n_sigma`` contours of the Gaussian with ``mean`` and 2×2 ``cov``."""
    w, v = np.linalg.eigh(np.asarray(cov))
    phi = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(phi), np.sin(phi)])
    for k, n in enumerate(n_sigma):
        pts = np.asarray(mean)[:, None] + n * (v * np.sqrt(np.clip(w, 0, None))) @ circle
        ax.plot(pts[0], pts[1], **(kw if k == 0 else {**kw, "label": None}))


def edge_panels(axes, data):
    """Sharpness × η/2 against step with the edge at 1 (``axes[0]``) and the training loss
    (``axes[1]``), from ``data["runs"]`` (each with ``lr``) and arrays ``obs_t_k``,
    ``sharpness_k``, ``t_k``, ``loss_k``."""
    for k, run in enumerate(data["runs"]):
        line, = axes[0].plot(data[f"obs_t_{k}"], np.asarray(data[f"sharpness_{k}"]) * run["lr"] / 2,
                             lw=1.2, ls=DASHES[k % len(DASHES)], label=f"η = {run['lr']:g}")
        axes[1].semilogy(data[f"t_{k}"], data[f"loss_{k}"], color=line.get_color(), lw=1,
                         ls=DASHES[k % len(DASHES)])
    axes[0].axhline(1.0, color="k", ls=":", lw=1)
    axes[0].set(xlabel="step", ylabel=r"sharpness $\times\,\eta/2$  (edge: 1)")
    axes[0].legend()
    axes[1].set(xlabel="step", ylabel="training loss")
    log_ticks(axes[1], "y")
