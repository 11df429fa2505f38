"""Shared look of the figures and the helpers they draw with."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"SGD": "#1f77b4", "SME": "#d62728", "Langevin": "#2ca02c", "theory": "black"}

plt.rcParams.update({
    "figure.dpi": 110, "savefig.dpi": 110, "font.size": 9, "axes.titlesize": 10,
    "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
})


def save(fig, path):
    """Write a PNG without a timestamp or version in its metadata (stable bytes)."""
    fig.savefig(path, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)


def ellipse(ax, mean, cov, n_sigma=(1, 2), **kw):
    """Draw the ``n_sigma`` contours of the Gaussian with ``mean`` and 2×2 ``cov``."""
    w, v = np.linalg.eigh(np.asarray(cov))
    phi = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(phi), np.sin(phi)])
    for k, n in enumerate(n_sigma):
        pts = np.asarray(mean)[:, None] + n * (v * np.sqrt(np.clip(w, 0, None))) @ circle
        ax.plot(pts[0], pts[1], **(kw if k == 0 else {**kw, "label": None}))


def edge_panels(axes, data):
    """Sharpness against step with a dotted 2/η per run (``axes[0]``) and the training loss
    (``axes[1]``), from ``data["runs"]`` (each with ``lr``) and arrays ``obs_t_k``,
    ``sharpness_k``, ``t_k``, ``loss_k``."""
    for k, run in enumerate(data["runs"]):
        line, = axes[0].plot(data[f"obs_t_{k}"], data[f"sharpness_{k}"], lw=1.5, label=f"η = {run['lr']:g}")
        axes[0].axhline(2 / run["lr"], color=line.get_color(), ls=":", lw=1.2)
        axes[1].semilogy(data[f"t_{k}"], data[f"loss_{k}"], color=line.get_color(), lw=1)
    axes[0].set(xlabel="step", ylabel=r"sharpness $\lambda_{max}(\nabla^2 L)$")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="step", ylabel="training loss")
