"""Generate, cache and import compiled modules.

Numba caches a compiled function on disk next to its source file, keyed by that file. A loop
that calls a model's kernels can only be cached if those kernels are *globals* of a real source
file, so the engine writes one small module per model, named by a hash of its full text (the
template, the model's kernel module source and the library versions), into the cache directory
``$LANDSCAPE_SDE_CACHE_DIR`` (default ``~/.cache/landscape_sde``), and imports it. Writing is
atomic (``os.replace``), so concurrent processes are safe. The hash covers the model's kernel
module and every source of this package, so an edit to either never reuses a stale compiled
loop; helpers that a model's kernel module imports from elsewhere are not covered (keep a
model's kernels in its own module, as the built-in models and generated symbolic models do).
"""
import functools
import hashlib
import importlib.util
import inspect
import os
import re
import sys
import tempfile
from pathlib import Path

import numba
import numpy as np


def cache_dir():
    """Directory of generated modules (created on demand; falls back to a temp dir)."""
    path = Path(os.environ.get("LANDSCAPE_SDE_CACHE_DIR",
                               Path.home() / ".cache" / "landscape_sde"))
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError:
        path = Path(tempfile.gettempdir()) / "landscape_sde_cache"
        path.mkdir(parents=True, exist_ok=True)
    return path


def load_source(prefix, source):
    """Import ``source`` as a module from a file named by its hash (written once)."""
    stamp = f"# numba {numba.__version__}, numpy {np.__version__}, python {sys.version_info[:2]}\n"
    digest = hashlib.sha256((stamp + source).encode()).hexdigest()[:16]
    name = f"_lsde_{re.sub(r'[^0-9a-zA-Z_]', '_', prefix)}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    path = cache_dir() / f"{name}.py"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(stamp + source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=None)
def _engine_digest():
    """Hash of every source in this package: numba's cache checks only the generated file,
    not the modules it imports (rng, jit, fields), so their text goes into its name."""
    text = "".join(p.read_text() for p in sorted(Path(__file__).parent.glob("*.py")))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_BOUND_BLOCK = re.compile(r"# >>> bound by codegen.*?# <<< bound by codegen\n", re.S)
_BOUND_NAMES = re.compile(r"\b(model_\w+)\b")


def _source_digest(module):
    return hashlib.sha256(inspect.getsource(module).encode()).hexdigest()[:16]


def bind(template, spec, name, functions=None, inline=False, **constants):
    """Generate and import a copy of the ``template`` module whose ``bound by codegen`` block
    imports the kernels of ``spec`` (a KernelSpec) as ``model_<kernel>``, the compiled
    ``functions`` (``{alias: jitted function}``, e.g. a scheme's update) under their aliases,
    and sets ``constants``.

    A model without its own diffusion gets :func:`.fields.no_diffusion` as ``model_diffusion``;
    a potential without mini-batch kernels gets those of :mod:`.defaults`. With ``inline`` the
    model's kernels are bound as IR-inlined copies (:func:`.jit.inlined`). The generated text
    names the sha256 of every module it imports from, so an edit to any of them gives a new
    module (numba's cache checks only the generated file).
    """
    names = spec.names()
    needed = dict.fromkeys(_BOUND_NAMES.findall(_BOUND_BLOCK.search(inspect.getsource(template)).group(0)))
    block = f"# engine kernels sha256 {_engine_digest()}\n"
    if inline:
        block += "from landscape_sde._kernels.jit import inlined\n"
    for kernel in (k[len("model_"):] for k in needed):
        if kernel in names:
            module, attr = names[kernel]
        elif kernel == "diffusion":
            module, attr = "landscape_sde._kernels.fields", "no_diffusion"
        elif kernel == "sample_output_grads":  # only the label-noise oracle calls it
            module, attr = "landscape_sde._kernels.fields", "no_output_grads"
        else:  # a potential's mini-batch kernels (the model's KernelSpec.get checks the name)
            module, attr = default_kernels(spec).__name__, kernel
        block += (f"from {module} import {attr} as model_{kernel}  "
                  f"# source sha256 {_source_digest(sys.modules.get(module) or importlib.import_module(module))}\n")
        if inline:
            block += f"model_{kernel} = inlined(model_{kernel})\n"
    for alias, func in (functions or {}).items():
        py = getattr(func, "py_func", func)
        module = sys.modules[py.__module__]
        block += (f"from {py.__module__} import {py.__name__} as {alias}  "
                  f"# source sha256 {_source_digest(module)}\n")
    block += "".join(f"{key} = {value!r}\n" for key, value in constants.items())
    source = _BOUND_BLOCK.sub(lambda _: block, inspect.getsource(template), count=1)
    return load_source(name, source)


@functools.lru_cache(maxsize=None)
def default_kernels(spec):
    """The generated module of a potential's default ``batch_grad``, ``sample_grads`` and
    ``batch_hvp`` (:mod:`.defaults`), bound to its ``grad`` and ``hvp``."""
    from . import defaults
    return bind(defaults, spec, f"defaults_{spec.prefix}")


SMALL_DIM = 8  # models up to this dimension get loops unrolled over a constant dimension


@functools.lru_cache(maxsize=None)
def passage_module(spec, predicate=None):
    """The generated module (``arrived``) of the first-passage test with a user's compiled
    ``predicate`` (a numba dispatcher ``θ -> bool`` defined at the top level of an importable
    module, as model kernels are) bound as ``passage_predicate``; :func:`.passage.never` if
    ``None``."""
    from . import passage
    predicate = passage.never if predicate is None else predicate
    py = getattr(predicate, "py_func", predicate)
    name = f"passage_{re.sub(r'[^0-9a-zA-Z_]', '_', py.__module__)}_{py.__name__}"
    return bind(passage, spec, name, {"passage_predicate": predicate})


@functools.lru_cache(maxsize=None)
def trajectory_module(spec, update, init, gradient, stages, diffusion, dim, passage=False,
                      predicate=None):
    """The generated module (``drive``) of the compiled trajectory loop for the model kernels
    named by ``spec`` (a KernelSpec) and a scheme's compiled ``update`` and ``init`` with its
    gradient oracle (a ``GRAD_*`` code of :mod:`.layout`), number of stages and whether it
    reads the model's diffusion; ``dim`` is a compile-time constant, and the model's kernels
    are inlined, only if ``dim <= SMALL_DIM``. ``passage``: the loop tests a first-passage
    target set (``PASSAGE``, a constant, so that runs without one pay nothing), ``predicate``
    a compiled predicate for it (:func:`passage_module`)."""
    from . import trajectory
    dim = int(dim) if dim <= SMALL_DIM else 0
    py_update = getattr(update, "py_func", update)
    name = (f"trajectory_{spec.prefix}_{py_update.__name__}_{gradient}{stages}"
            f"{int(bool(diffusion))}_d{dim}")
    test = passage_module(spec, predicate)
    name += f"_p{int(bool(passage))}"
    if predicate is not None:
        name += "_" + test.__name__[len("_lsde_passage_"):]
    return bind(trajectory, spec, name, {"scheme_update": update, "scheme_init": init,
                                         "passage_arrived": test.arrived},
                inline=dim > 0, PASSAGE=bool(passage), GRAD_KIND=int(gradient), STAGES=int(stages),
                DIFFUSION=bool(diffusion), DIM=dim)


@functools.lru_cache(maxsize=None)
def field_kernels(spec):
    """Compiled evaluations of a model's kernels at many points (:mod:`.fields`)."""
    from . import fields
    return bind(fields, spec, f"fields_{spec.prefix}")
