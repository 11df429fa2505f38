"""``python -m figures [--list] [--only NAME ...] [--quick] [--replot] [--out DIR]``."""
import argparse
import importlib
import json
import pathlib
import re
import sys
import time

import numpy as np

from figures import FIGURES

HERE = pathlib.Path(__file__).parent


def _split(data):
    arrays = {k: v for k, v in data.items() if isinstance(v, np.ndarray)}
    return arrays, {k: v for k, v in data.items() if k not in arrays}


def build(name, out, quick=False):
    """Compute, store and plot one figure; returns the PNG path."""
    module = importlib.import_module(f"figures.{name}")
    config = module.QUICK if quick else module.CONFIG
    arrays, values = _split(module.compute(config))
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / f"{name}.npz", **arrays)
    (out / f"{name}.json").write_text(json.dumps({"config": config, **values}, indent=1) + "\n")
    return replot(name, out)  # plot from what was written, nothing else


def load(name, out):
    """The stored numbers of one figure (its JSON and NPZ), as ``plot`` receives them."""
    with np.load(out / f"{name}.npz") as f:
        return {**json.loads((out / f"{name}.json").read_text()), **{k: f[k] for k in f}}


def replot(name, out):
    """Draw one figure from its stored numbers only (no computation); returns the PNG path."""
    module = importlib.import_module(f"figures.{name}")
    path = out / f"{name}.png"
    module.plot(load(name, out), path)
    return path


def summary(doc):
    """The first sentence of a docstring, on one line."""
    text = " ".join((doc or "").split())
    match = re.match(r"(.+?[.!?])(\s+[A-Z(`\"]|$)", text)
    return match.group(1) if match else text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__)
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    parser.add_argument("--only", action="append", choices=FIGURES, metavar="NAME",
                        help="build only this figure (repeatable)")
    parser.add_argument("--quick", action="store_true",
                        help="small ensembles, for a smoke test (seconds, not minutes)")
    parser.add_argument("--replot", action="store_true",
                        help="redraw from the stored numbers in --out, without computing")
    parser.add_argument("--out", type=pathlib.Path, default=HERE,
                        help="output directory (default: the figures/ folder)")
    args = parser.parse_args(argv)
    if args.list:
        for name in FIGURES:
            doc = importlib.import_module(f"figures.{name}").__doc__
            print(f"{name:30s} {summary(doc)}")
        return 0
    for name in args.only or FIGURES:
        start = time.perf_counter()
        path = replot(name, args.out) if args.replot else build(name, args.out, quick=args.quick)
        print(f"{name}: {path} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
