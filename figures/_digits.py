"""Shared set-up of the digits figures: the models of a config and one-thread BLAS.

The classifier kernels call BLAS through ``np.dot``; on the project's shared 2-core machines
OpenBLAS's own threads slow full-batch passes down by up to 100× (spin-waiting against the
other processes and against the engine's replica threads), so the digits figures and tests run
their BLAS on one thread (``threadpoolctl``, which scikit-learn brings).
"""
import contextlib

from models.classifier import OneHiddenLayerNetwork, SoftmaxRegression
from models.datasets import corrupt_labels, digits


def one_blas_thread():
    """Context manager: BLAS on one thread (a no-op if threadpoolctl is missing)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def digits_model(config):
    """The classifier of ``config``: keys ``n_train``, ``width`` (0: softmax regression),
    ``activation``, ``loss`` and optionally ``label_noise`` (with ``noise_seed``)."""
    ds = digits(config["n_train"])
    if config.get("label_noise", 0.0):
        ds = corrupt_labels(ds, config["label_noise"], rng=config.get("noise_seed", 0))
    if not config["width"]:
        return SoftmaxRegression.from_dataset(ds, config["loss"])
    return OneHiddenLayerNetwork.from_dataset(ds, config["width"], config.get("activation", "tanh"),
                                              config["loss"])
