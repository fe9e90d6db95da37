"""numba's ``njit`` for the twins of the families and projections, applied only when a kernel
needs them (docs/design.md §23).

Importing numba costs a third of a second and more memory than the rest of a command together;
``mimicry recover``, ``simulate``, ``families`` and ``--help`` read the families and projections
but never run a kernel. So the twins are written ``@njit(inline="always")`` from here: each stays
a plain function, recorded with its options, until :func:`numba_ready` runs (every module that
compiles kernels runs it at import). It makes numba's dispatcher of each twin and puts it in
place of the plain function in every ``gpu_kernels`` module that holds it by name, so a kernel
(and a twin calling another, even one imported from another module) finds the dispatcher by
that name, exactly as when ``numba.njit`` decorated it. Anything that holds a twin otherwise
reads it through :func:`compiled` (:class:`~gpu_kernels.family.NumbaKernels` does). A module
imported after that gets dispatchers from the decorator itself.

numpy (a tenth of a second more) waits the same way: the twins' modules take :data:`np` from
here, a stand-in that imports numpy on its first attribute, and write their ``uint64``
constants with :func:`uint64`, a plain int until :func:`numba_ready` puts numpy's own module and
scalars in place of both, so that a kernel sees exactly what ``import numpy as np`` and
``np.uint64(...)`` gave it (numba types a global by its value when it compiles).

(numba's ``register_jitable`` would have served without replacing names, but kernels calling
twins through it compiled two to three times slower on an empty cache: 15 s against 4 s for
the MT19937 sieve kernel.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

#: Each twin and the options it was written with.
_TWINS: dict[Callable, dict[str, Any]] = {}
_READY = False


class _Numpy(ModuleType):
    """numpy, imported when a twin first reads from it outside a kernel (numba_ready puts the
    module itself in each twin module's namespace before any kernel compiles)."""

    def __getattr__(self, name: str) -> Any:
        import numpy

        return getattr(numpy, name)


#: What the twins' modules call ``np``.
np: Any = _Numpy("numpy")


class _UInt64(int):
    """A twin's ``np.uint64`` constant, an int until :func:`numba_ready`."""


def uint64(value: int) -> Any:
    """``np.uint64(value)``, deferred like the twins (numpy's scalar once numba_ready ran)."""
    if _READY:
        import numpy

        return numpy.uint64(value)
    return _UInt64(value)


def njit(**options: Any) -> Callable[[Callable], Callable]:
    """``numba.njit(**options)``, deferred: the function is returned unchanged (numba's
    dispatcher once :func:`numba_ready` has run)."""

    def record(function: Callable) -> Callable:
        _TWINS[function] = options
        return _dispatcher(function) if _READY else function

    return record


@cache
def _dispatcher(function: Callable):
    import numba

    return numba.njit(**_TWINS[function])(function)


def numba_ready() -> None:
    """Put numba's dispatcher of every twin in place of the plain function, in every
    ``gpu_kernels`` module that holds it by name. Call before compiling a kernel that calls a
    twin; it runs once."""
    global _READY
    if _READY:
        return
    # The registry imports every family and projection module: every twin is defined.
    import numpy

    import gpu_kernels.registry  # noqa: F401

    for name, module in list(sys.modules.items()):
        if module is None or not (name == "gpu_kernels" or name.startswith("gpu_kernels.")):
            continue
        namespace = vars(module)
        for attribute, value in list(namespace.items()):
            if type(value) is _Numpy:  # not `is np`: this module's own np is swept too
                namespace[attribute] = numpy
            elif type(value) is _UInt64:
                namespace[attribute] = numpy.uint64(value)
            elif callable(value) and _is_twin(value):
                namespace[attribute] = _dispatcher(value)
    _READY = True


def _is_twin(value: object) -> bool:
    try:
        return value in _TWINS
    except TypeError:  # unhashable
        return False


def compiled(function: Callable):
    """numba's dispatcher of one twin (given as the plain function or its dispatcher)."""
    numba_ready()
    python_function = getattr(function, "py_func", function)
    if not _is_twin(python_function):
        raise ValueError(f"{python_function.__qualname__} is not a numba twin of gpu_kernels")
    return _dispatcher(python_function)
