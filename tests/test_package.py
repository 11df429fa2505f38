"""The package as a user meets it: a light import, results that export to xarray, and
documentation whose references resolve inside the repository (issue 16)."""
import importlib
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import landscape_sde as lsde

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_import_does_not_load_optional_dependencies():
    """``import landscape_sde`` loads neither SymPy nor matplotlib nor xarray (negative
    control: ``landscape_sde.symbolic`` does load SymPy)."""
    code = ("import sys, landscape_sde as l; a = {m: m in sys.modules for m in "
            "('sympy', 'matplotlib', 'xarray', 'zarr')}; l.symbolic; "
            "print(a, 'sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.strip() == "{'sympy': False, 'matplotlib': False, 'xarray': False, 'zarr': False} True"


def test_to_xarray_labels_dims_and_keeps_meta():
    """``Ensemble.to_xarray`` has dims t, replica, coord, the observables on their own steps,
    the values unchanged and ``meta`` in the attributes."""
    pytest.importorskip("xarray")
    import json
    from models import Quadratic
    ens = lsde.simulate(Quadratic(np.diag([1.0, 2.0])), lsde.GD(0.1), np.ones(2), n_steps=6,
                        n_replicas=3, save_every=2, rng=0,
                        observe={"norm": (3, lambda th: np.linalg.norm(th, axis=1))})
    ds = ens.to_xarray()
    assert ds["theta"].dims == ("t", "replica", "coord")
    assert ds["norm"].dims == ("t_norm", "replica")
    np.testing.assert_array_equal(ds["theta"].values, ens.theta)
    np.testing.assert_array_equal(ds["time"].values, ens.time)
    np.testing.assert_array_equal(ds["t_norm"].values, [0, 3, 6])
    assert json.loads(ds.attrs["meta"]) == ens.meta and ds.attrs["scheme"] == "GD"


def _module_exists(name):
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        parent, _, attr = name.rpartition(".")
        return bool(parent) and _module_exists(parent) and hasattr(importlib.import_module(parent), attr)


def test_mod_and_func_references_resolve():
    """Every ``:mod:``/``:func:`` reference to the project's own packages in the code names
    something that exists (negative control: a made-up name does not resolve)."""
    pattern = re.compile(r":(?:mod|func|class|meth):`~?((?:landscape_sde|models|analysis)[\w.]*)`")
    missing = []
    for path in [*ROOT.glob("landscape_sde/**/*.py"), *ROOT.glob("models/*.py"), *ROOT.glob("analysis/*.py")]:
        for name in pattern.findall(path.read_text()):
            if not _module_exists(name):
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, missing
    assert not _module_exists("analysis.lyapunov")


def test_markdown_links_resolve():
    """Relative links in README.md and docs/*.md point at files of the repository."""
    missing = []
    for page in [ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target and not (page.parent / target).exists():
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert not missing, missing
