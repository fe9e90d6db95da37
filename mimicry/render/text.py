"""Text from users and models, made safe to show (docs/design.md §19): in a terminal or a log
(:func:`plain_text`) and in the Prefect UI's markdown (:func:`plain_markdown`)."""

from __future__ import annotations

import re
import unicodedata

#: Unicode categories that change how a terminal shows what follows instead of showing a
#: character: controls (C0, DEL, C1: escape sequences, bells, carriage returns), formats
#: (bidirectional overrides, zero-width joiners) and the line and paragraph separators.
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


def plain_text(text: str) -> str:
    """Text a user or a model wrote (a stream name, a note, a halt reason, an advice), made safe
    for a terminal or a log: every control or format character is shown as its escape
    (``ESC[31m`` becomes ``\\x1b[31m``, a newline ``\\n``), so nothing it holds can move the
    cursor, retitle the window, colour, clear or hide text. Markup is the printer's to leave
    alone (the CLI prints such text with markup off)."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in _INVISIBLE
        else ch
        for ch in text
    )


#: Every ASCII punctuation character: CommonMark lets any of them be backslash-escaped, and one
#: of them starts every construct (emphasis, links, images, code, HTML, headings, tables).
_MARKDOWN_SPECIALS = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def plain_markdown(text: str) -> str:
    """Text a user or a model wrote, made literal inside markdown (a Prefect artifact, a form's
    description): :func:`plain_text`, then every punctuation character backslash-escaped, so a
    stream name cannot become a link, an image, emphasis, HTML or a table cell, and a URL in it is
    not turned into a link. Not for code spans, where backslashes are literal."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", plain_text(text))
