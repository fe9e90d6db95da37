"""One compile per machine: processes that start together on a fresh machine (a LocalCluster's
workers, a command beside them) compile a numba kernel once between them instead of once each.

numba's ``cache=True`` writes a kernel's machine code beside it and later processes load it in a
fraction of a second; but processes that need a kernel before the first has written it each
compile it themselves (5 to 10 s of a core per kernel, measured on two cores). The first to
take a kernel's file lock compiles and writes the cache; the others wait on the lock, then load.
"""

from __future__ import annotations

import fcntl
from pathlib import Path


def compile_once(kernel, directory: Path, *arguments) -> None:
    """Give ``kernel`` (a numba dispatcher with ``cache=True``) its machine code in this process,
    compiling, or loading what another process compiled, while holding an exclusive lock on its
    file under ``directory`` (the kernel cache). ``arguments`` are those of a call that does no
    work (an empty range): only their types matter. A kernel this process already compiled
    returns at once; where the lock cannot be taken (a read-only cache), it compiles without."""
    if kernel.signatures:
        return
    function = kernel.py_func
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Held until the kernel is compiled; closing the file releases the lock.
        handle = open(directory / f"{function.__module__}.{function.__name__}.lock", "a")  # noqa: SIM115
    except OSError:
        kernel(*arguments)
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        kernel(*arguments)
