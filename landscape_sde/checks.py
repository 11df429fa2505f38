"""Argument checks shared by the public API: each error names the argument, the value and
what is allowed, and is raised before any work starts."""
import numbers

import numpy as np


def real(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a float, checking it is a finite real number in the given range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    value = float(value)
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or bad_low or bad_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = ("(" if low_open or low is None else "[") + f"{lo}, {hi}" + \
            (")" if high_open or high is None else "]")
        raise ValueError(f"{name}: expected a finite number in {interval}, got {value!r}")
    return value


def positive(name, value):
    """A finite number > 0."""
    return real(name, value, low=0.0, low_open=True)


def integer(name, value, *, low=None, high=None):
    """Return ``value`` as an int, checking ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}: expected an integer {allowed}, got {value}")
    return value


def real_array(name, value):
    """Return ``value`` as a C-contiguous float64 array (any shape, NaN allowed).

    ``None``, strings and complex values are refused: NumPy would turn ``None`` into NaN,
    parse the strings, and drop an imaginary part with only a ``ComplexWarning``.
    """
    if value is None:
        raise TypeError(f"{name}: expected an array of real numbers, got None")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise TypeError(f"{name}: expected an array of real numbers, got {short_repr(value)}") from exc
    if raw.dtype.kind in "USV":
        raise TypeError(f"{name}: expected an array of real numbers, got {short_repr(value)} "
                        "(strings are not converted)")
    if raw.dtype.kind == "c":
        flat = raw.ravel()
        first = flat[int(np.argmax(flat.imag != 0))] if flat.size else None
        raise TypeError(f"{name}: expected real numbers, got complex values (e.g. {first!r}); "
                        "pass the real part explicitly if that is what you mean")
    try:
        return np.asarray(raw, dtype=np.float64, order="C")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array of real numbers, got {short_repr(value)}") from exc


def short_repr(value, limit=200):
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def instance(name, value, cls, what):
    """Check ``isinstance(value, cls)``; the error says ``what`` was expected and names the
    class given, saying so when a class was passed instead of an instance."""
    if not isinstance(value, cls):
        got = (f"the class {value.__name__} (not an instance: call it)" if isinstance(value, type)
               else f"{type(value).__name__} {short_repr(value)}")
        raise TypeError(f"{name}: expected {what}, got {got}")
    return value


def finite_array(name, value, *, ndim=None, shape=None):
    """Return ``value`` as a C-contiguous float64 array, checking ndim, shape and finiteness.

    ``shape`` may contain ``None`` for free axes.
    """
    arr = np.ascontiguousarray(real_array(name, value))  # a scalar becomes shape (1,)
    if ndim is not None and arr.ndim not in np.atleast_1d(ndim):
        raise ValueError(f"{name}: expected {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None and (arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape))):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name}: all entries must be finite, got {arr[tuple(bad)]!r} "
                         f"at index {tuple(int(i) for i in bad)}")
    return arr


def symmetric_psd(name, value, dim):
    """A finite symmetric positive semi-definite ``(dim, dim)`` matrix."""
    arr = finite_array(name, value, shape=(dim, dim))
    scale = max(1.0, float(np.abs(arr).max()))
    if not np.allclose(arr, arr.T, rtol=0, atol=1e-12 * scale):
        raise ValueError(f"{name}: expected a symmetric matrix, got {arr.tolist()!r}")
    low = float(np.linalg.eigvalsh(arr).min())
    if low < -1e-12 * scale:
        raise ValueError(f"{name}: expected a positive semi-definite matrix, got "
                         f"{short_repr(arr.tolist())} with smallest eigenvalue {low:g}")
    return 0.5 * (arr + arr.T)


def boolean(name, value):
    """A genuine ``bool`` (``numpy.bool_`` accepted): truthy strings are not flags."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def model(value, name="model"):
    """A :class:`landscape_sde.Model` instance."""
    from .model import Model
    return instance(name, value, Model, "a landscape_sde.Model (e.g. models.Quadratic(...))")


def scheme(value, name="scheme"):
    """A :class:`landscape_sde.Scheme` instance."""
    from .schemes.base import Scheme
    return instance(name, value, Scheme, "a landscape_sde scheme instance (GD(lr), SGD(lr, "
                    "batch_size), Langevin(dt, temperature), ...)")


def sequence(name, value):
    """A non-empty list from a sequence (a string or a scalar is not one)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name}: expected a non-empty sequence, got {short_repr(value)}")
    out = list(value)
    if not out:
        raise ValueError(f"{name}: expected a non-empty sequence, got {short_repr(value)}")
    return out
