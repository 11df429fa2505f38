"""The result of :func:`landscape_sde.simulate`: an ensemble of trajectories."""
import dataclasses
import json
import os
import uuid
import zipfile

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
        ``first_passage_level``, ``first_passage`` (:mod:`landscape_sde.passage`). Then ``theta``/``loss`` hold only the final state.
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

    def to_xarray(self):
        """The ensemble as an :class:`xarray.Dataset` (``pip install "landscape-sde[sweep]"``).

        Variables ``theta (t, replica, coord)``, ``loss (t, replica)``, ``diverged`` and
        ``diverged_at (replica)``; each observable ``name`` on its own steps ``t_<name>``
        (further axes ``<name>_0, ...``); coordinates ``t`` (iterations), ``time`` (SDE time,
        when ``meta`` records the scheme's step), ``replica`` and ``coord``. ``attrs`` hold
        ``meta`` as JSON (``attrs["meta"]``) and the model and scheme names.
        """
        import xarray as xr
        data = {"theta": (("t", "replica", "coord"), self.theta), "loss": (("t", "replica"), self.loss),
                "diverged": ("replica", self.diverged), "diverged_at": ("replica", self.diverged_at)}
        coords = {"t": self.t, "replica": np.arange(self.n_replicas), "coord": np.arange(self.dim)}
        step = self.meta.get("scheme", {}).get("step") if isinstance(self.meta, dict) else None
        if step is not None:
            coords["time"] = ("t", self.t * step)
        for name, obs in self.observables.items():
            if name in data or name in coords:
                raise ValueError(f"observables: the name {name!r} is taken by a variable of the "
                                 "dataset; rename the observer")
            values = obs["values"]
            data[name] = ((f"t_{name}", "replica") + tuple(f"{name}_{i}" for i in range(values.ndim - 2)),
                          values)
            coords[f"t_{name}"] = obs["t"]
        attrs = {"meta": json.dumps(self.meta)}
        for key in ("model", "scheme"):
            if isinstance(self.meta.get(key), dict) and "name" in self.meta[key]:
                attrs[key] = self.meta[key]["name"]
        return xr.Dataset(data, coords=coords, attrs=attrs)

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
        if os.path.isdir(path):
            raise ValueError(f"path: {path!r} is a directory; expected a file path")
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"path: the directory {directory!r} of {path!r} does not exist")
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
        """Read an ensemble written by :meth:`save`.

        Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file and
        what is wrong for anything that is not a complete ensemble file: truncated or
        corrupted, a foreign ``.npz``, pickled data, or arrays whose shapes or types disagree.
        """
        try:
            path = os.fspath(path)
        except TypeError:
            raise TypeError(f"path: expected a file path (str or os.PathLike), got {path!r}") from None
        if not os.path.isfile(path):
            raise FileNotFoundError(f"path: no such file {path!r}")
        try:
            f = np.load(path, allow_pickle=False)
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise ValueError(f"a single array of shape {np.shape(f)}, not an .npz archive")
            with f:
                missing = [k for k in ("meta",) + _ARRAYS if k not in f.files]
                if missing:
                    raise ValueError(f"it has no array {missing[0]!r} (arrays: {f.files})")
                arrays = {k: f[k] for k in f.files}
            try:
                meta = json.loads(str(arrays.pop("meta")))
            except ValueError as exc:
                raise ValueError(f"its 'meta' is not JSON ({exc})") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            raise ValueError(f"path: {path!r} is not a readable landscape_sde ensemble (a "
                             f".npz written by Ensemble.save): {type(exc).__name__}: {exc}") from None
        names = [k.split("/", 1)[1] for k in arrays if k.startswith("obs_t/")]
        obs = {n: {"t": arrays[f"obs_t/{n}"], "values": arrays.get(f"obs_values/{n}")} for n in names}
        stats = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("stats/")}
        out = cls(**{k: arrays[k] for k in _ARRAYS}, meta=meta, observables=obs, stats=stats)
        problem = out._inconsistency()
        if problem:
            raise ValueError(f"path: {path!r} is not a consistent ensemble: {problem}")
        return out

    def _inconsistency(self):
        """What is wrong with the arrays' types and shapes, or ``None``."""
        if not isinstance(self.meta, dict):
            return f"meta is a {type(self.meta).__name__}, expected a dict"
        th = self.theta
        if th.ndim != 3 or th.dtype.kind != "f":
            return f"array 'theta' has shape {th.shape} and dtype {th.dtype}, expected float (n_saved, n_replicas, dim)"
        n_saved, n_rep, _ = th.shape
        want = {"t": ((n_saved,), "i"), "loss": ((n_saved, n_rep), "f"),
                "diverged": ((n_rep,), "b"), "diverged_at": ((n_rep,), "i")}
        for name, (shape, kind) in want.items():
            a = getattr(self, name)
            if a.shape != shape or a.dtype.kind != kind:
                return (f"array {name!r} has shape {a.shape} and dtype {a.dtype}, expected shape "
                        f"{shape} and {dict(i='integer', f='float', b='bool')[kind]} values "
                        f"(theta has shape {th.shape})")
        for name, obs in self.observables.items():
            t, v = obs["t"], obs["values"]
            if v is None or t.ndim != 1 or v.shape[:2] != (t.size, n_rep):
                return (f"observable {name!r}: values of shape {getattr(v, 'shape', None)} do not "
                        f"match its {t.size} steps and {n_rep} replicas")
        return None

    def __repr__(self):
        return (f"Ensemble({self.meta['scheme']['name']} on {self.meta['model']['name']}: "
                f"{self.n_replicas} replicas, dim {self.dim}, {len(self.t)} saved steps "
                f"up to {int(self.t[-1])}, {int(self.diverged.sum())} diverged)")
