"""The documentation without the docs tools: numpydoc sections of every public name, the pages
the README links to, and the quickstart page's code (run, and checked against theory).

The site itself (``docs/conf.py``, Sphinx) is built with ``pip install -e ".[docs]"``; these
tests keep the sources honest in the normal suite.
"""
import dataclasses
import inspect
import re
import types
from pathlib import Path

import numpy as np
import pytest

import landscape_sde

ROOT = Path(__file__).resolve().parents[1]

# Compiled draws and the oracle record of landscape_sde/_kernels/, re-exported by
# landscape_sde.kernels for scheme authors. That package is being restructured; their
# argument conventions are documented in landscape_sde/kernels.py's module docstring.
EXEMPT = {"kernels.normal", "kernels.uniform", "kernels.below", "kernels.Oracle"}


def numpydoc_sections(doc):
    """``{section title: body lines}`` of a numpydoc docstring (a title is a line underlined
    with dashes)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out, cur = {}, None
    for i, line in enumerate(lines):
        underline = i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip())
        if underline and line.strip():
            cur = line.strip()
            out[cur] = []
        elif cur is not None and not re.fullmatch(r"-{3,}", line.strip()):
            out[cur].append(line)
    return out


def documented_names(sections, keys):
    """Names in the ``name : type`` lines of the given sections (``a, b : int`` gives both)."""
    names = set()
    for key in keys:
        for line in sections.get(key, []):
            if line and not line[0].isspace():
                names.update(n.strip().lstrip("*") for n in line.split(":")[0].split(","))
    return names


def public_objects():
    """``(dotted name, object)`` for every name of ``landscape_sde.__all__`` and, for the
    modules among them, every name of their own ``__all__``."""
    for name in landscape_sde.__all__:
        if name == "__version__":
            continue
        obj = getattr(landscape_sde, name)
        yield name, obj
        if isinstance(obj, types.ModuleType):
            for sub in getattr(obj, "__all__", ()):  # checks: helpers, no __all__
                yield f"{name}.{sub}", getattr(obj, sub)


def docstring_problems(name, obj):
    """What is missing from ``obj``'s numpydoc docstring (an empty list when nothing)."""
    if not (obj.__doc__ or "").strip():
        return [f"{name}: no docstring"]
    if isinstance(obj, types.ModuleType) or not callable(obj):
        return []
    sig = inspect.signature(obj)
    args = [p.name for p in sig.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    sec = numpydoc_sections(obj.__doc__)
    # A dataclass's or NamedTuple's arguments are its fields, documented as Attributes.
    record = inspect.isclass(obj) and (dataclasses.is_dataclass(obj) or hasattr(obj, "_fields"))
    keys = ("Parameters", "Other Parameters") + (("Attributes",) if record else ())
    problems = []
    if args:
        if not any(k in sec for k in keys):
            return [f"{name}: no Parameters section for {args}"]
        missing = [a for a in args if a not in documented_names(sec, keys)]
        if missing:
            problems.append(f"{name}: arguments not in Parameters: {missing}")
    if not inspect.isclass(obj) and not {"Returns", "Yields"} & sec.keys():
        problems.append(f"{name}: no Returns section")
    return problems


def test_every_public_name_has_a_numpydoc_docstring():
    problems = [p for name, obj in public_objects() if name not in EXEMPT
                for p in docstring_problems(name, obj)]
    assert not problems, "\n".join(problems)


def test_exemptions_are_still_needed():
    # An exempt name that gained its sections must leave the list (it would hide regressions).
    objects = dict(public_objects())
    assert EXEMPT <= objects.keys()
    assert all(docstring_problems(n, objects[n]) for n in EXEMPT)


def test_docstring_check_catches_missing_sections():
    # Negative controls: each defect below must be reported.
    def no_params(a, b):
        """Summary only."""

    def one_missing(a, b):
        """Summary.

        Parameters
        ----------
        a : int

        Returns
        -------
        int
        """

    def no_returns(a):
        """Summary.

        Parameters
        ----------
        a, b : int
        """

    def fine(a, *, rng=None):
        """Summary.

        Parameters
        ----------
        a : int
        rng : None or int

        Returns
        -------
        int
        """

    @dataclasses.dataclass
    class Record:
        """Summary.

        Attributes
        ----------
        x : float
        """
        x: float
        y: float

    assert docstring_problems("f", no_params) == ["f: no Parameters section for ['a', 'b']"]
    assert docstring_problems("f", one_missing) == ["f: arguments not in Parameters: ['b']"]
    assert docstring_problems("f", no_returns) == ["f: no Returns section"]
    assert docstring_problems("f", fine) == []
    assert docstring_problems("R", Record) == ["R: arguments not in Parameters: ['y']"]
    assert docstring_problems("g", lambda x: x) == ["g: no docstring"]


def _readme_links(text):
    """Relative link targets of the README (``[text](target)``), without anchors."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return {t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and t.split("#")[0]}


def test_every_page_linked_from_the_readme_exists():
    links = _readme_links((ROOT / "README.md").read_text())
    assert any(t.startswith("docs") for t in links)  # the README does link into docs/
    missing = sorted(t for t in links if not (ROOT / t).exists())
    assert not missing, f"README links to missing files: {missing}"
    # Negative control: a link to a page that does not exist is caught.
    assert _readme_links("see [x](docs/nope.md#a) and [y](https://a.b)") == {"docs/nope.md"}


def _docs_references(text):
    """``docs/...`` file names mentioned in a text (code, comments, Markdown)."""
    return {m.rstrip(".,;:)") for m in re.findall(r"(?<![\w/])docs/[\w./-]+\.(?:md|rst|py)", text)}


def test_every_docs_file_the_code_cites_exists():
    # The code and notes cite their derivations in docs/; a clone must be able to follow them.
    cited = {}
    for path in ROOT.rglob("*"):
        if path.suffix in (".py", ".md", ".toml") and not {"_build", ".git"} & set(path.parts):
            for ref in _docs_references(path.read_text(errors="replace")):
                cited.setdefault(ref, path.relative_to(ROOT))
    cited = {ref: where for ref, where in cited.items() if ref != "docs/nope.md"}  # below
    assert len(cited) >= 5
    missing = {ref: str(where) for ref, where in cited.items() if not (ROOT / ref).exists()}
    assert not missing, f"cited but not in the repository: {missing}"
    assert _docs_references("see docs/nope.md, and xdocs/a.md") == {"docs/nope.md"}


def test_docs_site_sources_exist():
    # Every page in the site's toctrees is a file in docs/ (those docs/conf.py generates excepted).
    index = (ROOT / "docs" / "index.md").read_text()
    pages = [line.strip() for block in re.findall(r"```\{toctree\}\n(.*?)```", index, re.S)
             for line in block.splitlines() if line.strip() and not line.startswith(":")]
    assert {"quickstart", "engine", "api"} <= set(pages)
    missing = [p for p in pages if p not in ("api", "gallery", "tutorials")
               and not any((ROOT / "docs" / f"{p}{ext}").exists() for ext in (".md", ".rst"))]
    assert not missing


def test_quickstart_runs_and_matches_equipartition(capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "quickstart.md").read_text(), re.S)
    env = {}
    for code in blocks:
        exec(code, env)
    var, n = env["var"], env["ens"].theta.shape[1]
    # Euler-Maruyama's exact stationary variance on ½kθ²: T / (k (1 − k dt / 2)).
    T, dt, k = 0.5, 0.01, np.array([1.0, 4.0])
    exact = T / (k * (1 - k * dt / 2))
    # After 1500 steps (15 relaxation times of the slow axis) the start is forgotten to
    # e^-30; the sample variance of n Gaussians has relative s.e. sqrt(2/(n-1)) ≈ 2.2 %.
    se = exact * np.sqrt(2 / (n - 1))
    assert np.all(np.abs(var - exact) < 4 * se)
    # Negative control: the variance of a wrong temperature (0.6) is excluded.
    assert np.all(np.abs(var - exact * 0.6 / T) > 4 * se)
    assert "theory" in capsys.readouterr().out
