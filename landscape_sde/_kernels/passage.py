"""Template of the first-passage test, :func:`arrived` (bound by :func:`.codegen.passage_module`).

The code generator copies this file, binding a user's compiled predicate ``θ -> bool`` as
``passage_predicate`` (or :func:`never`), so that a trajectory driver can call ``arrived`` as
a global and numba inlines and caches it like a model kernel. The driver only decides *when*
to test (every step); this module decides *what* the set is (:class:`.layout.Target`).
"""
from landscape_sde._kernels.jit import jit
from landscape_sde._kernels.layout import SET_ABOVE, SET_BALL, SET_BELOW, SET_PREDICATE

# >>> bound by codegen
passage_predicate = None
# <<< bound by codegen


@jit
def never(th):
    """The predicate of a run without one (never called: ``kind`` is not ``SET_PREDICATE``)."""
    return False


@jit(inline="always")
def arrived(th, tgt):
    """Whether ``θ`` lies in the target set ``tgt`` (open sets: strict inequalities)."""
    kind = tgt.kind
    if kind == SET_ABOVE:
        return th[tgt.coord] > tgt.level
    if kind == SET_BELOW:
        return th[tgt.coord] < tgt.level
    if kind == SET_BALL:
        c = tgt.center
        d2 = 0.0
        for j in range(c.shape[0]):
            d2 += (th[j] - c[j]) ** 2
        return d2 < tgt.radius2
    if kind == SET_PREDICATE:
        return bool(passage_predicate(th))
    return False
