"""GD on a 20-layer deep linear network: progressive sharpening up to 2/η, then the edge of
stability (Cohen et al., ICLR 2021)."""
import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import edge_panels, letter, log_ticks, plt, save
from models.deep_linear import DeepLinearNetwork

CONFIG = dict(depth=20, width=50, data_seed=0, init_seed=0, lrs=[4e-4, 2.5e-4],
              n_steps=3000, observe_every=25)
QUICK = {**CONFIG, "depth": 4, "width": 10, "lrs": [2e-3], "n_steps": 100, "observe_every": 20}


def compute(config):
    model = DeepLinearNetwork.edge_of_stability(config["depth"], config["width"], rng=config["data_seed"])
    theta0 = model.init(rng=config["init_seed"])
    observe = {"sharpness": (config["observe_every"],
                             lambda th: [sharpness(model, t, tol=1e-6).sharpness for t in th])}
    out = {"initial_sharpness": sharpness(model, theta0).sharpness, "runs": []}
    for k, lr in enumerate(config["lrs"]):
        ens = lsde.simulate(model, lsde.GD(lr), theta0, n_steps=config["n_steps"], save_every=5,
                            observe=observe)
        out[f"t_{k}"], out[f"loss_{k}"] = ens.t, ens.loss[:, 0]
        out[f"obs_t_{k}"] = ens.observables["sharpness"]["t"]
        out[f"sharpness_{k}"] = ens.observables["sharpness"]["values"][:, 0]
        out["runs"].append({"lr": lr})
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.8))
    edge_panels(axes, data)
    axes[0].set_title("sharpness × η/2 (GD)")
    axes[1].set_title("training loss")
    log_ticks(axes[1], "y", [200, 300, 500, 1000])
    letter(axes)
    save(fig, path)
