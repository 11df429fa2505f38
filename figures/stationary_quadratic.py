"""Stationary SGD, SME and Langevin on a 2-D quadratic with anisotropic gradient noise."""
import numpy as np

from analysis import stationary as st
from figures import _stationary
from landscape_sde.noise import batch_noise_factor
from models import Quadratic

CONFIG = dict(hessian=[[1.0, 0.6], [0.6, 2.0]], noise_cov=[[1.0, -0.45], [-0.45, 0.3]],
              n_samples=8, lr=0.3, batch_size=2, substeps=10, n_steps=200,
              n_replicas=40_000, n_scatter=4000, seed=1)
QUICK = {**CONFIG, "n_steps": 50, "n_replicas": 2000, "n_scatter": 500}


def compute(config):
    model = Quadratic(config["hessian"], config["noise_cov"], n_samples=config["n_samples"])
    H, C = model.hessian_matrix, model.noise_cov
    n = config["n_samples"]

    def sgd_theory(lr, b):  # discrete Lyapunov: HS + SH − ηHSH = η Σ_b
        return np.zeros(2), st.discrete_lyapunov(H, batch_noise_factor(n, b) * C, lr)

    sme_limit = st.continuous_lyapunov(H, 0.5 * config["lr"] * batch_noise_factor(
        n, config["batch_size"]) * C)
    return _stationary.compute(model, config, sgd_theory,
                               extra_theory={"cov": sme_limit.tolist(),
                                             "label": "continuum SME (η → 0 form)"})


def plot(data, path):
    c = data["config"]
    _stationary.plot(data, path, f"Quadratic, N = {c['n_samples']}, b = {c['batch_size']}, "
                                 f"η = {c['lr']}: discrete Lyapunov HS + SH − ηHSH = ηΣ_b")
