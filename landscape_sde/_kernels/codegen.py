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
_MODEL_KERNELS = ("loss", "grad", "batch_grad", "sample_grads", "diffusion")


def bind(template, spec, name, **constants):
    """Generate and import a copy of the ``template`` module whose ``bound by codegen`` block
    imports the kernels of ``spec`` (a KernelSpec) as ``model_<kernel>`` and sets ``constants``.

    A model without its own diffusion gets :func:`.fields.no_diffusion` as ``model_diffusion``.
    """
    names = spec.names()
    model_src = inspect.getsource(importlib.import_module(spec.module))
    own = [k for k in _MODEL_KERNELS if k in names]
    block = (f"# model kernels from {spec.module} "
             f"(source sha256 {hashlib.sha256(model_src.encode()).hexdigest()[:16]}; "
             f"engine kernels sha256 {_engine_digest()})\n"
             f"from {spec.module} import (\n"
             + "".join(f"    {names[k]} as model_{k},\n" for k in own) + ")\n")
    if "diffusion" not in names:
        block += "from landscape_sde._kernels.fields import no_diffusion as model_diffusion\n"
    block += "".join(f"{key} = {value!r}\n" for key, value in constants.items())
    source = _BOUND_BLOCK.sub(lambda _: block, inspect.getsource(template), count=1)
    return load_source(name, source)


SMALL_DIM = 8  # models up to this dimension get loops unrolled over a constant dimension


def trajectory_driver(spec, grad_kind, noise_kind, momentum, dim, project=False):
    """``run`` (no streaming statistics) of :func:`trajectory_module`."""
    return trajectory_module(spec, grad_kind, noise_kind, momentum, dim, project).run


@functools.lru_cache(maxsize=None)
def trajectory_module(spec, grad_kind, noise_kind, momentum, dim, project=False):
    """The generated module (``drive``, ``run``) of the compiled trajectory loop for the model kernels named by ``spec`` (a KernelSpec), a
    scheme structure (``GRAD_*`` and ``NOISE_*`` codes of :mod:`.trajectory`, whether momentum
    is used), the model dimension (a compile-time constant only if ``dim <= SMALL_DIM``) and
    whether the gradient is nudged along frozen eigenvectors (NSGD)."""
    from . import trajectory
    dim = int(dim) if dim <= SMALL_DIM else 0
    name = (f"trajectory_{spec.prefix}_{grad_kind}{noise_kind}{int(bool(momentum))}"
            f"{int(bool(project))}_d{dim}")
    return bind(trajectory, spec, name, GRAD_KIND=int(grad_kind), NOISE_KIND=int(noise_kind),
                MOMENTUM=bool(momentum), DIM=dim, PROJECT=bool(project))


@functools.lru_cache(maxsize=None)
def field_kernels(spec):
    """Compiled evaluations of a model's kernels at many points (:mod:`.fields`)."""
    from . import fields
    return bind(fields, spec, f"fields_{spec.prefix}")
