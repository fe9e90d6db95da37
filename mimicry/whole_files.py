"""Writing a file whole: a temporary file beside it, renamed over it at the end, so a reader (or
a crash) never sees half of it; with the mode a plain ``open(path, "w")`` would give it
(docs/design.md §22: a draw file copied into a container must stay readable there)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def creation_mode(path: Path) -> int:
    """The mode ``path`` keeps (it exists) or gets (new: 0666 less the process's umask)."""
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[TextIO]:
    """A text file to write ``path`` through. A regular file appears whole or not at all; a
    device or pipe (``/dev/stdout``) is written in place."""
    if path.exists() and not path.is_file():
        with path.open("w") as file:
            yield file
        return
    mode = creation_mode(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            yield file
        os.chmod(temporary, mode)  # mkstemp makes it 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
