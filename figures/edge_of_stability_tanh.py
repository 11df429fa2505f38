"""GD on a 1→100→1 tanh network fitting T_3 on 20 Chebyshev nodes: progressive sharpening,
and at the larger step the edge of stability, ηS/2 ≈ 1 (Cohen et al., ICLR 2021); beyond
2/η < S₀ a catapult first drops the sharpness far below the edge."""
import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import edge_panels, letter, plt, save
from models.tanh_network import TanhNetwork

CONFIG = dict(width=100, degree=3, n_samples=20, init_seed=0, lrs=[0.05, 0.06, 0.08],
              n_steps=20_000, observe_every=250)
QUICK = {**CONFIG, "width": 20, "lrs": [0.06], "n_steps": 400, "observe_every": 100}


def compute(config):
    model = TanhNetwork.chebyshev(config["width"], config["degree"], config["n_samples"])
    theta0 = model.init(rng=config["init_seed"])
    observe = {"S": (config["observe_every"], lambda th: [sharpness(model, t).sharpness for t in th])}
    out = {"initial_sharpness": sharpness(model, theta0).sharpness, "runs": []}
    for k, lr in enumerate(config["lrs"]):
        ens = lsde.simulate(model, lsde.GD(lr), theta0, n_steps=config["n_steps"],
                            save_every=config["observe_every"], observe=observe)
        out[f"t_{k}"], out[f"loss_{k}"] = ens.t, ens.loss[:, 0]
        out[f"obs_t_{k}"] = ens.observables["S"]["t"]
        out[f"sharpness_{k}"] = ens.observables["S"]["values"][:, 0]
        out["runs"].append({"lr": lr})
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.8))
    edge_panels(axes, data)
    axes[0].set_title(f"sharpness × η/2 from S₀ = {data['initial_sharpness']:.1f}")
    axes[1].set_title("training loss")
    letter(axes)
    save(fig, path)
