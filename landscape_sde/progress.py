"""Progress bars for long runs and sweeps: ``tqdm`` when it is installed, a plain text bar
otherwise.

:func:`progress_bar` is what :func:`landscape_sde.simulate` (``progress=True``) and
:func:`landscape_sde.sweep` call. With ``tqdm`` installed (``pip install tqdm``, or the
``progress`` extra) it returns a ``tqdm.auto`` bar, so notebooks get a widget and terminals the
usual bar; without it, :class:`ProgressBar`, a dependency-free text bar with the same counts.
Both redraw at most every 0.2 s on a terminal and every 10 s on a log file or CI, so a long run
writes a few lines, not thousands. A bar only reports: the compiled run is split into the same
segments whichever bar draws (or none), so results are bit-identical.

Both expose the same three members: ``done`` (units done, including ``initial``),
``update(n=1)`` and ``close()``.
"""
import sys
import time

__all__ = ["progress_bar", "ProgressBar", "BACKENDS"]

BACKENDS = ("auto", "tqdm", "plain")
_TTY_INTERVAL, _LOG_INTERVAL = 0.2, 10.0


def progress_bar(total, unit="", *, initial=0, file=None, backend="auto"):
    """A progress bar of ``total`` units on ``file`` (default ``sys.stderr``).

    Parameters
    ----------
    total : int
        Number of units (cells, steps) to do.
    unit : str
        Name of a unit (``"steps"``, ``"cells"``).
    initial : int
        Units done before this run (a resumed sweep): counted in ``done`` but not in the rate,
        so the ETA reflects the speed of this run.
    file : file-like, optional
        Where to draw; default ``sys.stderr``.
    backend : {"auto", "tqdm", "plain"}
        ``"auto"``: ``tqdm.auto`` if ``tqdm`` can be imported, else the plain bar.
        ``"tqdm"`` requires ``tqdm`` (``ImportError`` otherwise); ``"plain"`` never uses it.

    Returns
    -------
    ProgressBar or TqdmBar
        An object with ``done``, ``update(n=1)`` and ``close()``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if backend != "plain":
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if backend == "tqdm":
                raise ImportError("backend='tqdm' needs tqdm: pip install tqdm") from None
        else:
            return TqdmBar(tqdm, total, unit, initial=initial, file=file)
    return ProgressBar(total, unit, initial=initial, file=file)


class TqdmBar:
    """A ``tqdm`` bar behind the interface of :class:`ProgressBar` (``done``, ``update``,
    ``close``).

    Parameters
    ----------
    tqdm : type
        The ``tqdm`` class to use (``tqdm.auto.tqdm``).
    total, unit, initial, file
        As for :func:`progress_bar`.
    """

    def __init__(self, tqdm, total, unit="", *, initial=0, file=None):
        file = sys.stderr if file is None else file
        tty = bool(getattr(file, "isatty", lambda: False)())
        # "40/100 cells" as in the plain bar (tqdm's default omits the unit after the counts)
        self._bar = tqdm(total=int(total), initial=int(initial), unit=f" {unit or 'it'}",
                         file=file, mininterval=_TTY_INTERVAL if tty else _LOG_INTERVAL,
                         dynamic_ncols=tty, leave=True,
                         bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}{unit} "
                                    "[{elapsed}<{remaining}, {rate_fmt}{postfix}]")

    @property
    def done(self):
        return self._bar.n

    def update(self, n=1):
        self._bar.update(int(n))

    def close(self):
        self._bar.close()


class ProgressBar:
    """The plain text bar: ``bar = ProgressBar(total, "cells"); bar.update(k); bar.close()``.

    Drawn with ``\\r`` in place on a terminal, as one line per ``log_interval`` seconds on a
    log file, e.g. ``[######------]  40/100 cells  12.0/s  ETA 5 s``.

    Parameters
    ----------
    total : int
        Number of units (cells, steps) to do.
    unit : str
        Name of a unit, shown after the counts.
    initial : int
        Units already done before this run (resumed sweeps): they count towards ``done`` but
        not towards the rate, so the ETA reflects the speed of this run.
    file : file-like, optional
        Default ``sys.stderr``.
    min_interval, log_interval : float
        Seconds between redraws on a terminal and on a log file.
    width : int
        Characters of the bar.
    """

    def __init__(self, total, unit="", *, initial=0, file=None, min_interval=_TTY_INTERVAL,
                 log_interval=_LOG_INTERVAL, width=30):
        self.total, self.unit, self.done, self.initial = int(total), unit, int(initial), int(initial)
        self.file = sys.stderr if file is None else file
        self.tty = bool(getattr(self.file, "isatty", lambda: False)())
        self.interval = min_interval if self.tty else log_interval
        self.width = width
        self.start = time.perf_counter()
        self._last, self._shown = -float("inf"), None
        self._draw(force=True)

    def update(self, n=1):
        self.done += int(n)
        self._draw(force=self.done >= self.total)

    def text(self):
        """The bar as a string, e.g. ``[######------]  40/100 cells  12.0/s  ETA 5 s``."""
        frac = self.done / self.total if self.total else 1.0
        fill = int(round(self.width * frac))
        elapsed = time.perf_counter() - self.start
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = f"ETA {_duration(left / rate)}" if rate > 0 and left > 0 else \
            f"in {_duration(elapsed)}" if left <= 0 else "ETA ?"
        return (f"[{'#' * fill}{'-' * (self.width - fill)}] {self.done}/{self.total} {self.unit}"
                f"  {rate:.3g}/s  {eta}")

    def _draw(self, force=False):
        now = time.perf_counter()
        if not force and now - self._last < self.interval:
            return
        self._last, self._shown = now, self.done
        self.file.write(("\r" if self.tty else "") + self.text() + ("" if self.tty else "\n"))
        self.file.flush()

    def close(self):
        if self._shown != self.done:
            self._draw(force=True)
        if self.tty:
            self.file.write("\n")
            self.file.flush()


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
