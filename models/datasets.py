"""Classification data sets for the classifiers of :mod:`models.classifier`.

- :func:`digits`: scikit-learn's bundled handwritten digits (``sklearn.datasets.load_digits``:
  1,797 images of 8×8 pixels with values 0–16, ten classes). The file ships inside
  scikit-learn, so nothing is downloaded; scikit-learn is the optional extra ``data``
  (``pip install landscape-sde[data]``), imported only when :func:`digits` is called.
- :func:`gaussian_mixture`: one isotropic Gaussian blob per class, for quick tests.

Both return a :class:`Dataset` with a fixed train/test split and inputs standardised with the
*training* statistics (per feature: subtract the mean, divide by the standard deviation;
a feature that is constant on the training set, such as the always-blank corner pixels of the
digits, is only centred). Decisions recorded here:

- The split is stratified by class and fixed by ``split_seed`` (default 0), so every caller of
  ``digits()`` sees the same test set whatever subset of the training set it asks for.
- ``n_train`` takes a class-balanced subset of the training set (the first ``⌈n/K⌉``-ish of each
  class in the fixed shuffled order), so subsets are nested: ``n_train=200`` is contained in
  ``n_train=400``.
- Standardisation uses the statistics of the training rows actually returned (the subset).
"""
import dataclasses

import numpy as np

from landscape_sde import checks as _v
from landscape_sde.rng import as_seed_sequence

__all__ = ["Dataset", "corrupt_labels", "digits", "gaussian_mixture", "one_hot"]


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A standardised classification data set with a fixed train/test split.

    Attributes
    ----------
    X_train, X_test : ndarray (n, d)
        Standardised inputs.
    y_train, y_test : ndarray (n,) of int64
        Class labels in ``[0, n_classes)``.
    n_classes : int
    mean, scale : ndarray (d,)
        The training statistics used: ``X = (raw − mean) / scale``.
    name : str
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    mean: np.ndarray
    scale: np.ndarray
    name: str

    @property
    def n_features(self):
        return self.X_train.shape[1]

    def __repr__(self):
        return (f"Dataset({self.name!r}, n_train={len(self.y_train)}, n_test={len(self.y_test)}, "
                f"n_features={self.n_features}, n_classes={self.n_classes})")


def one_hot(labels, n_classes):
    """``(n, n_classes)`` float64 one-hot rows of integer ``labels`` in ``[0, n_classes)``."""
    labels = np.asarray(labels)
    n_classes = _v.integer("n_classes", n_classes, low=1)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels: expected a 1-D array of integers, got dtype {labels.dtype} "
                        f"and shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels: expected integers in [0, {n_classes}), got range "
                         f"[{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.size, n_classes))
    out[np.arange(labels.size), labels] = 1.0
    return out


def _split(X, y, n_classes, test_fraction, n_train, split_seed, name):
    """Stratified fixed split, nested class-balanced training subset, standardisation."""
    gen = np.random.default_rng(as_seed_sequence(split_seed))
    train, test = [], []
    for c in range(n_classes):
        rows = gen.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * rows.size))
        test.append(rows[:k])
        train.append(rows[k:])
    if n_train is not None:
        available = sum(r.size for r in train)
        n_train = _v.integer("n_train", n_train, low=n_classes, high=available)
        # round-robin over classes in the fixed order: balanced and nested in n_train
        order = [r[j] for j in range(max(r.size for r in train)) for r in train if j < r.size]
        keep = np.array(order[:n_train])
    else:
        keep = np.concatenate(train)
    keep, test = np.sort(keep), np.sort(np.concatenate(test))
    return _standardised(X[keep], y[keep], X[test], y[test], n_classes, name)


def _standardised(X_train, y_train, X_test, y_test, n_classes, name):
    mean = X_train.mean(axis=0)
    scale = X_train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    std = lambda A: np.ascontiguousarray((A - mean) / scale)  # noqa: E731
    return Dataset(std(X_train), y_train.astype(np.int64), std(X_test), y_test.astype(np.int64),
                   n_classes, mean, scale, name)


def digits(n_train=None, *, classes=None, test_fraction=0.2, split_seed=0):
    """scikit-learn's bundled 8×8 digits, standardised, with a fixed stratified split.

    Parameters
    ----------
    n_train : int, optional
        Size of a class-balanced training subset (default: the whole training split, 1,438
        images with the default ``test_fraction``). Subsets are nested.
    classes : sequence of int, optional
        Keep only these digits (relabelled ``0, 1, …`` in the given order); default all ten.
    test_fraction : float
        Fraction of each class held out, in ``(0, 1)``; the default 0.2 gives 359 test images.
    split_seed : int
        Seed of the fixed split (change it only to study split-to-split variation).

    Returns
    -------
    Dataset

    Raises
    ------
    ImportError
        If scikit-learn is not installed (``pip install landscape-sde[data]``).
    """
    test_fraction = _v.real("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True,
                            high_open=True)
    split_seed = _v.integer("split_seed", split_seed, low=0)
    if classes is not None:
        classes = [_v.integer(f"classes[{i}]", c, low=0, high=9) for i, c in enumerate(classes)]
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise ValueError(f"classes: expected at least two distinct digits in [0, 9], got {classes!r}")
    if n_train is not None:
        _v.integer("n_train", n_train, low=1)
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("digits() needs scikit-learn (the optional extra 'data': "
                          "pip install 'landscape-sde[data]')") from exc
    raw = load_digits()
    X, y = raw.data.astype(np.float64), raw.target.astype(np.int64)
    if classes is not None:
        mask = np.isin(y, classes)
        relabel = {c: i for i, c in enumerate(classes)}
        X, y = X[mask], np.array([relabel[c] for c in y[mask]], dtype=np.int64)
    n_classes = 10 if classes is None else len(classes)
    return _split(X, y, n_classes, test_fraction, n_train, split_seed, "digits")


def gaussian_mixture(n_train, n_test=0, *, n_features=2, n_classes=3, separation=2.0, rng=None):
    """One isotropic unit-variance Gaussian blob per class, class means ``separation`` apart
    in expectation (means drawn as ``separation/√2 · N(0, I)``), classes taken in turn
    (``y_n = n mod K``); the first ``n_train`` samples train, the rest test, standardised
    with the training statistics like :func:`digits`.

    Parameters
    ----------
    n_train, n_test : int
        Number of training (``>= n_classes``) and test (``>= 0``) samples.
    n_features, n_classes : int
    separation : float
        ``>= 0``; 0 gives indistinguishable classes (a negative control for accuracy).
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    Dataset
    """
    n_classes = _v.integer("n_classes", n_classes, low=2)
    n_train = _v.integer("n_train", n_train, low=n_classes)
    n_test = _v.integer("n_test", n_test, low=0)
    n_features = _v.integer("n_features", n_features, low=1)
    separation = _v.real("separation", separation, low=0.0)
    gen = np.random.default_rng(as_seed_sequence(rng))
    n = n_train + n_test
    means = separation / np.sqrt(2.0) * gen.standard_normal((n_classes, n_features))
    y = np.arange(n) % n_classes
    X = means[y] + gen.standard_normal((n, n_features))
    return _standardised(X[:n_train], y[:n_train], X[n_train:], y[n_train:], n_classes,
                         "gaussian_mixture")


def corrupt_labels(ds, fraction, *, rng=None):
    """A copy of ``ds`` in which each training label, independently with probability
    ``fraction``, is replaced by a uniform random class (possibly the same one); the test set is
    untouched. Label noise makes the digits hard enough to fit that cross-entropy training is
    slow, as on the larger data sets of the edge-of-stability literature.

    Parameters
    ----------
    ds : Dataset
    fraction : float
        In ``[0, 1]``.
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    Dataset
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds: expected a Dataset, got {type(ds).__name__}")
    fraction = _v.real("fraction", fraction, low=0.0, high=1.0)
    gen = np.random.default_rng(as_seed_sequence(rng))
    y = ds.y_train.copy()
    hit = gen.random(y.size) < fraction
    y[hit] = gen.integers(0, ds.n_classes, size=int(hit.sum()))
    return dataclasses.replace(ds, y_train=y, name=f"{ds.name} ({fraction:g} label noise)")
