"""Draw files: one module per format, the forms programs print, and the ingest into a stream
(docs/design.md §12).

Reading a file is :func:`stream_draws` (batches, memory bounded) or :func:`read_draws` (one
history); :mod:`~mimicry.draws.reading` dispatches to the format's module
(:mod:`~mimicry.draws.text_format`, :mod:`~mimicry.draws.csv_format`,
:mod:`~mimicry.draws.json_format`), which share :mod:`~mimicry.draws.parsing`.
"""

from mimicry.draws.csv_format import DRAW_COLUMN_NAMES
from mimicry.draws.parsing import Domain, DrawFileError
from mimicry.draws.reading import (
    COLUMN_DESCRIPTION,
    SESSION_DESCRIPTION,
    DrawBatch,
    DrawHistory,
    DrawStream,
    read_draws,
    sessions_in,
    stream_draws,
)

__all__ = [
    "COLUMN_DESCRIPTION",
    "DRAW_COLUMN_NAMES",
    "SESSION_DESCRIPTION",
    "Domain",
    "DrawBatch",
    "DrawFileError",
    "DrawHistory",
    "DrawStream",
    "read_draws",
    "sessions_in",
    "stream_draws",
]
