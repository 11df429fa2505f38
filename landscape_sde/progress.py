"""A dependency-free text progress bar (done / total, rate, ETA) for sweeps and long runs.

Written to ``stderr`` and redrawn in place with ``\\r`` at most every ``min_interval``
seconds; on a non-terminal stream (a log file, CI) it prints a plain line at most every
``log_interval`` seconds instead. ``tqdm`` would do the same; a 40-line bar avoids a
dependency for it.
"""
import sys
import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """``bar = ProgressBar(total, "cells"); bar.update(k); bar.close()``.

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
    """

    def __init__(self, total, unit="", *, initial=0, file=None, min_interval=0.2,
                 log_interval=10.0, width=30):
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
