"""Stationary SGD, SME and Langevin on linear regression (state-dependent gradient noise)."""
from analysis import stationary as st
from figures import _stationary
from landscape_sde.noise import minibatch_covariance
from models import LinearRegression

CONFIG = dict(n_samples=16, dim=2, label_noise=0.5, data_seed=1, lr=0.3, batch_size=2,
              substeps=10, n_steps=200, n_replicas=40_000, n_scatter=4000, seed=11)
QUICK = {**CONFIG, "n_steps": 50, "n_replicas": 2000, "n_scatter": 500}


def compute(config):
    model = LinearRegression.teacher_student(config["n_samples"], config["dim"],
                                             noise=config["label_noise"], rng=config["data_seed"])
    theta_star = model.minimizer()
    b, lr = config["batch_size"], config["lr"]
    # The textbook shortcut: the discrete Lyapunov equation with the noise frozen at θ*.
    frozen = st.discrete_lyapunov(model.hessian(theta_star),
                                  minibatch_covariance(model.sample_grads(theta_star), b), lr)
    return _stationary.compute(
        model, config, lambda lr, b: st.linear_sgd_moments(model, lr, b),
        extra_theory={"cov": frozen.tolist(), "label": "Lyapunov, noise frozen at θ*"})


def plot(data, path):
    c = data["config"]
    _stationary.plot(data, path, f"Linear regression, N = {c['n_samples']}, b = {c['batch_size']}, "
                                 f"η = {c['lr']}: exact moment closure (state-dependent noise)")
