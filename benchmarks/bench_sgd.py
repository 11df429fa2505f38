"""SGD on linear regression (N = 1024, d = 16, b = 32, 1000 replicas): landscape_sde against a
NumPy loop batched over replicas, in the same process, for both batch-sampling rules.

    python -m benchmarks.bench_sgd [--steps 1000]
"""
import argparse

import numpy as np

import landscape_sde as lsde
from benchmarks._common import best_time, machine
from models import LinearRegression


def numpy_sgd(X, y, theta0, n_steps, lr, b, replace, rng):
    """One vectorised NumPy pass per step over all replicas."""
    n = X.shape[0]
    theta = theta0.copy()
    for _ in range(n_steps):
        if replace:
            idx = rng.integers(0, n, size=(theta.shape[0], b))
        else:  # b distinct indices per replica: the b smallest of N uniforms
            idx = rng.random((theta.shape[0], n)).argpartition(b, axis=1)[:, :b]
        Xb = X[idx]
        r = np.einsum("rbd,rd->rb", Xb, theta) - y[idx]
        theta -= (lr / b) * np.einsum("rbd,rb->rd", Xb, r)
    return theta


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--replicas", type=int, default=1000)
    p.add_argument("--steps", type=int, default=1000)
    a = p.parse_args(argv)
    model = LinearRegression.teacher_student(1024, 16, noise=0.5, rng=0)
    lr, b = 0.05, 32
    theta0 = np.zeros((a.replicas, 16))
    work = a.replicas * a.steps
    print(machine())
    print(f"SGD on linear regression, N = 1024, d = 16, b = {b}, {a.replicas} replicas x "
          f"{a.steps} steps")
    for replace in (True, False):
        scheme = lsde.SGD(lr, b, replace=replace)
        lsde.simulate(model, scheme, theta0[:2], n_steps=5, n_replicas=2, rng=0)  # compile
        t_l, ens = best_time(lambda: lsde.simulate(model, scheme, theta0, n_steps=a.steps,
                                                   n_replicas=a.replicas, save_every=a.steps,
                                                   rng=0))
        gen = np.random.default_rng(0)
        t_n, th = best_time(lambda: numpy_sgd(model.X, model.y, theta0, a.steps, lr, b,
                                              replace, gen))
        rule = "with replacement   " if replace else "without replacement"
        print(f"  {rule}: landscape_sde {t_l:7.3f} s ({work / t_l / 1e6:6.2f} M steps/s), "
              f"NumPy {t_n:7.3f} s ({work / t_n / 1e6:6.2f} M steps/s), "
              f"speed-up {t_n / t_l:5.1f}x")
        # same stationary loss level (different streams): a sanity check, not a timing
        print(f"      final mean loss: landscape_sde {np.mean(ens.loss[-1]):.5f}, "
              f"NumPy {np.mean([model.loss(t) for t in th]):.5f}")


if __name__ == "__main__":
    main()
