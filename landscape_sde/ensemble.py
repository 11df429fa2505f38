"""The result of :func:`landscape_sde.simulate`: an ensemble of trajectories."""
import dataclasses
import json
import os
import uuid

import numpy as np

__all__ = ["Ensemble"]

_ARRAYS = ("t", "theta", "loss", "diverged", "diverged_at")


@dataclasses.dataclass(frozen=True, eq=False)
class Ensemble:
    """Saved states of ``n_replicas`` trajectories.

    Attributes
    ----------
    t : ndarray of int64, shape (n_saved,)
        Iteration numbers of the saved states (0 is the initial state).
    theta : ndarray, shape (n_saved, n_replicas, dim)
        Parameters at the saved iterations; NaN at and after a replica's divergence.
    loss : ndarray, shape (n_saved, n_replicas)
        Full-batch loss ``L(θ)`` at the saved iterations; NaN at and after divergence.
    diverged : ndarray of bool, shape (n_replicas,)
        Whether the replica diverged.
    diverged_at : ndarray of int64, shape (n_replicas,)
        First iteration at which ``|θ_j|`` exceeded ``meta["divergence_bound"]`` or ``θ``
        stopped being finite (checked every step), or a saved iteration whose loss was not
        finite (the loss is evaluated at saves only); −1 if never.
    meta : dict
        Model, scheme and parameters, seed entropy, package versions (JSON-serialisable).
    observables : dict
        ``{name: {"t": steps, "values": array (n_obs, n_replicas, ...)}}`` recorded by
        ``simulate(..., observe=...)``.
    stats : dict
        Streaming statistics of ``simulate(..., stream=Streaming(...))`` (arrays; see
        :mod:`landscape_sde.streaming`): ``t``, ``coords``, ``count``, ``mean`` and ``var``
        ``(n_saved, len(coords) + 1)`` (last column: the loss), optionally ``hist``,
        ``hist_under``, ``hist_over``, ``hist_edges``, ``first_passage_loss``,
        ``first_passage_level``. Then ``theta``/``loss`` hold only the final state.
    """

    t: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    meta: dict
    observables: dict = dataclasses.field(default_factory=dict)
    stats: dict = dataclasses.field(default_factory=dict)

    @property
    def n_replicas(self):
        return self.theta.shape[1]

    @property
    def dim(self):
        return self.theta.shape[2]

    @property
    def time(self):
        """Saved times in SDE units, ``t · step`` (``step`` = the scheme's ``lr`` or ``dt``)."""
        return self.t * self.meta["scheme"]["step"]

    def save(self, path):
        """Write to ``path`` (NumPy ``.npz``); :meth:`load` reads it back exactly.

        The file is written under a temporary name in the same directory and renamed over
        ``path`` when complete: a save that fails (or is killed) leaves a previous file there
        untouched.
        """
        try:
            path = os.fspath(path)
        except TypeError:
            raise TypeError(f"path: expected a file path (str or os.PathLike), got {path!r}") from None
        try:
            meta = json.dumps(self.meta)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"meta: expected a JSON-serialisable dict, got {self.meta!r}: "
                            f"{exc}") from exc
        arrays = {k: getattr(self, k) for k in _ARRAYS}
        for name, obs in self.observables.items():
            arrays[f"obs_t/{name}"] = obs["t"]
            arrays[f"obs_values/{name}"] = obs["values"]
        for name, value in self.stats.items():
            arrays[f"stats/{name}"] = value
        directory, name = os.path.split(os.path.abspath(path))
        tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
        try:  # os.open, not tempfile: the file gets the usual permissions (0o666 & ~umask)
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as fh:
                np.savez(fh, meta=np.array(meta), **arrays)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    @classmethod
    def load(cls, path):
        """Read an ensemble written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            obs = {k.split("/", 1)[1]: {"t": f[k], "values": f["obs_values/" + k.split("/", 1)[1]]}
                   for k in f.files if k.startswith("obs_t/")}
            stats = {k.split("/", 1)[1]: f[k] for k in f.files if k.startswith("stats/")}
            return cls(**{k: f[k] for k in _ARRAYS}, meta=json.loads(str(f["meta"])),
                       observables=obs, stats=stats)

    def __repr__(self):
        return (f"Ensemble({self.meta['scheme']['name']} on {self.meta['model']['name']}: "
                f"{self.n_replicas} replicas, dim {self.dim}, {len(self.t)} saved steps "
                f"up to {int(self.t[-1])}, {int(self.diverged.sum())} diverged)")
