"""GD on a 1→100→1 tanh network fitting T_3 on 20 Chebyshev nodes: progressive sharpening,
and at the larger step the edge of stability, ηS/2 ≈ 1 (Cohen et al., ICLR 2021); beyond
2/η < S₀ a catapult first drops the sharpness far below the edge."""
import landscape_sde as lsde
from analysis.curvature import sharpness
from figures._style import plt, save
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
        out[f"sharpness_{k}"] = ens.observables["S"]["values"][:, 0]
        out["runs"].append({"lr": lr})
    return out


def plot(data, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for k, run in enumerate(data["runs"]):
        line, = axes[0].plot(data[f"t_{k}"], data[f"sharpness_{k}"], lw=1.4, label=f"η = {run['lr']:g}")
        axes[0].axhline(2 / run["lr"], color=line.get_color(), ls=":", lw=1.2)
        axes[1].semilogy(data[f"t_{k}"], data[f"loss_{k}"], color=line.get_color(), lw=1)
    axes[0].set(xlabel="step", ylabel=r"sharpness $\lambda_{max}(\nabla^2 L)$",
                title=f"GD from S₀ = {data['initial_sharpness']:.1f}: dotted lines 2/η")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="step", ylabel="training loss", title="training loss")
    c = data["config"]
    fig.suptitle(f"Tanh network 1→{c['width']}→1 on T_{c['degree']} at {c['n_samples']} Chebyshev "
                 "nodes (exact HVPs)", fontsize=10)
    save(fig, path)
