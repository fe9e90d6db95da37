"""The one rule for the names and paths the store keeps, the same on SQLite and PostgreSQL.

A stream name is what people type and read back on a terminal: 1 to 200 characters, no control
or format characters (an escape sequence stored in a name would reach every terminal that prints
it), no white space at either end. A draw file's path is kept for tracing a number back to its
source: at most 500 characters. PostgreSQL enforces the lengths of its ``varchar`` columns and
SQLite does not, so the rule is checked here, before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

MAX_STREAM_NAME = 200
MAX_SOURCE_PATH = 500


class BadName(ValueError):
    """A stream name or path the store cannot keep; ``field`` is ``"stream"`` or ``"source"``
    (the draw file's path), the message says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_stream_name(name: str) -> str:
    if not name:
        raise BadName("stream", "a stream name must not be empty")
    if len(name) > MAX_STREAM_NAME:
        raise BadName(
            "stream",
            f"a stream name has at most {MAX_STREAM_NAME} characters; this one has {len(name)}",
        )
    for index, character in enumerate(name):
        if unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp"):
            raise BadName(
                "stream",
                f"a stream name must not hold control characters; character {index + 1} is "
                f"U+{ord(character):04X}",
            )
    if name != name.strip():
        raise BadName("stream", "a stream name must not start or end with white space")
    return name


def check_source_path(path: str) -> str:
    if len(path) > MAX_SOURCE_PATH:
        raise BadName(
            "source",
            f"the store keeps draw-file paths of at most {MAX_SOURCE_PATH} characters; this one "
            f"has {len(path)} (move or link the file to a shorter path)",
        )
    return path


def stream_label(name: str) -> str:
    """A stream's name as a label safe in file names and Prefect's names: its letters, digits,
    ``.``, ``_`` and ``-`` (others replaced, at most 60) and a digest of the whole name, so two
    streams never share a label."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:60] or "stream"
    return f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


#: A stream name as a pydantic field type (a flow's request, a CLI flag).
StreamName = Annotated[str, AfterValidator(check_stream_name)]
