"""Sphinx configuration of the landscape-sde documentation site.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` after
``pip install -e ".[docs]"``. Why Sphinx + numpydoc: see ``docs/about_docs.md``.

Two pages are generated here at every build, so they cannot drift from the code:

- ``api.rst``: one autosummary entry per name in ``landscape_sde.__all__`` (modules get their
  own ``__all__`` listed);
- ``tutorials.md``: the README (one tested example per capability), its links rewritten for
  the site: pages of ``docs/`` become page links, figures are copied, other repository files
  are named in code spans (they are not pages);
- ``gallery.md``: every figure of ``figures.FIGURES`` with its caption, the module docstring
  (read with ``ast``, so the figure modules and matplotlib are not imported).
"""
import ast
import shutil
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import landscape_sde  # noqa: E402

project = "landscape-sde"
author = "the landscape-sde developers"
release = version = landscape_sde.__version__
copyright = "the landscape-sde developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# The notes write maths as $...$ and $$...$$; GitHub renders the same files.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"          # types are written in the numpydoc sections
numpydoc_show_class_members = False  # autosummary lists members; avoids duplicate stubs
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

try:
    import pydata_sphinx_theme  # noqa: F401
    html_theme = "pydata_sphinx_theme"
except ImportError:  # pragma: no cover - the docs extra installs it
    html_theme = "alabaster"
html_title = f"landscape-sde {release}"
html_static_path = []
html_extra_path = []


def _write_api():
    lines = ["API reference", "=============", "",
             "Generated from ``landscape_sde.__all__`` at every build.", "",
             ".. currentmodule:: landscape_sde", ""]
    funcs, modules = [], []
    for name in landscape_sde.__all__:
        obj = getattr(landscape_sde, name)
        if name.startswith("__"):
            continue
        (modules if isinstance(obj, types.ModuleType) else funcs).append(name)
    lines += ["Top-level names", "---------------", "", ".. autosummary::",
              "   :toctree: generated", ""]
    lines += [f"   {n}" for n in funcs]
    lines += ["", "Modules", "-------", ""]
    for name in modules:
        mod = getattr(landscape_sde, name)
        title = f"``landscape_sde.{name}``"
        lines += [title, "~" * len(title), "", f".. automodule:: landscape_sde.{name}",
                  "   :no-members:", "", f".. currentmodule:: landscape_sde.{name}", "",
                  ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {n}" for n in getattr(mod, "__all__", [])]
        lines += ["", ".. currentmodule:: landscape_sde", ""]
    (HERE / "api.rst").write_text("\n".join(lines) + "\n")


def _write_gallery():
    sys.path.insert(0, str(ROOT))
    names = ast.literal_eval(next(
        n.value for n in ast.parse((ROOT / "figures" / "__init__.py").read_text()).body
        if isinstance(n, ast.Assign) and n.targets[0].id == "FIGURES"))
    out = HERE / "_gallery"
    out.mkdir(exist_ok=True)
    lines = ["# Gallery", "",
             "Every figure of `python -m figures`, with its caption (the figure module's "
             "docstring). The numbers behind each image are stored beside it in "
             "`figures/NAME.json` and `figures/NAME.npz`.", ""]
    for name in names:
        src = ROOT / "figures" / f"{name}.py"
        doc = ast.get_docstring(ast.parse(src.read_text())) or ""
        lines += [f"## `{name}`", ""]
        png = ROOT / "figures" / f"{name}.png"
        if png.exists():
            shutil.copyfile(png, out / png.name)
            lines += [f"![{name}](_gallery/{png.name})", ""]
        lines += ["```text", doc, "```", ""]
    (HERE / "gallery.md").write_text("\n".join(lines) + "\n")


_TUTORIAL_NOTE = (
    "*This page is the repository's README: one runnable example per capability, each run by "
    "`tests/test_readme.py`, every number in it checked against the stored figure data.*")


def _write_tutorials():
    import re
    text = (ROOT / "README.md").read_text()
    out = HERE / "_gallery"
    out.mkdir(exist_ok=True)

    def link(m):
        label, target = m.group(1), m.group(2)
        path = target.split("#")[0]
        if re.match(r"[a-z]+:", target):
            return m.group(0)
        if path.startswith("docs/") and path.endswith((".md", ".rst")):
            return f"[{label}]({target[len('docs/'):]})"
        if path.startswith("figures/") and path.endswith(".png"):
            shutil.copyfile(ROOT / path, out / Path(path).name)
            return f"[{label}](_gallery/{Path(path).name})"
        return label if label.startswith("`") else f"{label} (`{path}`)"

    text = re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", link, text)
    text = re.sub(r"!\[([^\]]*)\]\((figures/[^)]+\.png)\)",
                  lambda m: link(m).replace("[", "![", 1), text)
    first, rest = text.split("\n", 1)
    (HERE / "tutorials.md").write_text(f"{first}\n\n{_TUTORIAL_NOTE}\n{rest}")


_write_api()
_write_tutorials()
_write_gallery()
