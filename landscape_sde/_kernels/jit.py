"""The project's one numba wrapper: every compiled function goes through :func:`jit`.

Options fixed here for the whole project:

- ``fastmath=False``: results must be reproducible and checkable against NumPy.
- ``error_model="numpy"``: division by zero gives ``inf``/``nan`` instead of raising, so a
  diverging trajectory becomes data (flagged by the driver), not an exception.
- ``cache=True``: compiled code is written next to the source and reused by later processes.
"""
import numba

prange = numba.prange


def jit(func=None, *, parallel=False, cache=True, inline="never", forward_records=False):
    """Compile ``func`` in nopython mode with the project's options (usable bare or called).

    ``forward_records=True`` compiles with :class:`.pipeline.RecordPipeline`, which removes the
    per-step reference counting of record fields and inlined arguments (the trajectory
    driver)."""
    def wrap(f):
        extra = {}
        if forward_records:
            from .pipeline import RecordPipeline
            extra["pipeline_class"] = RecordPipeline
        return numba.njit(f, parallel=parallel, cache=cache, fastmath=False,
                          error_model="numpy", nogil=True, inline=inline, **extra)
    return wrap if func is None else wrap(func)


def inlined(func):
    """A copy of the compiled ``func`` that numba inlines into its callers' IR.

    The trajectory driver binds a small model's kernels this way: called as separate
    functions, they hide from LLVM that the driver's work vectors never overlap, and the step
    runs ~1.6x slower (benchmarks/README.md). Same source, so the same floating-point results.
    """
    return jit(getattr(func, "py_func", func), inline="always")
