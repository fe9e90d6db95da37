"""Secrets kept out of what is printed, logged or stored (docs/design.md §16).

What is redacted, each replaced by :data:`REDACTED`:

* in a URL: the password of its userinfo (``http://user:pw@host`` becomes
  ``http://user:***@host``), a userinfo without a password as a whole (a lone name there is
  often a token), and the value of every query parameter whose name looks like a key, a token,
  a secret, a signature or a password (``?api_key=…``, ``?access_token=…``, ``?sig=…``);
* in any text: each secret string the caller names (an API key, a URL's password), as written
  and percent-encoded, since an error message may quote a URL either way.

A URL that cannot be parsed is redacted by pattern instead, never passed through as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

#: What a secret is replaced by.
REDACTED = "***"

#: Query parameter names whose values are secrets.
SECRET_NAME = re.compile(
    r"key|token|secret|passw|pwd|auth|credential|signature|^sig$|session", re.IGNORECASE
)

# For a URL urlsplit refuses: a userinfo (between "//" and the last "@" before the path), and
# name=value pairs of the query.
_USERINFO = re.compile(r"(?<=//)[^/?#]*@")
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")


def _redacted_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(SECRET_NAME.search(name) for name, _ in pairs):
        return query
    return urlencode(
        [(name, REDACTED if SECRET_NAME.search(name) else value) for name, value in pairs],
        safe="*",
    )


def redact_url(url: str) -> str:
    """``url`` without its secrets (see the module doc); fit to print, log or store."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, has_password, _ = userinfo.partition(":")
            netloc = f"{user}:{REDACTED}@{host}" if has_password else f"{REDACTED}@{host}"
        return urlunsplit(parts._replace(netloc=netloc, query=_redacted_query(parts.query)))
    except ValueError:  # e.g. an unclosed IPv6 bracket: redact by pattern
        text = _USERINFO.sub(f"{REDACTED}@", url)
        return _QUERY_PAIR.sub(
            lambda m: f"{m[1]}{m[2]}={REDACTED if SECRET_NAME.search(m[2]) else m[3]}", text
        )


def url_secrets(url: str) -> list[str]:
    """The secrets a URL holds (its userinfo's password, or a lone userinfo name, and the values
    of its secret-looking query parameters), to give :func:`redact_text`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        match = _USERINFO.search(url)
        return [match[0][:-1]] if match else []
    found = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, has_password, password = userinfo.partition(":")
        found.append(password if has_password else user)
    found += [
        v for name, v in parse_qsl(parts.query, keep_blank_values=True) if SECRET_NAME.search(name)
    ]
    return [secret for secret in found if secret]


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (as written, percent-decoded and percent-encoded)
    replaced by :data:`REDACTED`; longer secrets first, so none is left half-shown."""
    forms = set()
    for secret in secrets:
        if secret:
            forms |= {
                secret,
                unquote(secret),
                quote(secret, safe=""),
                quote(unquote(secret), safe=""),
            }
    for form in sorted((f for f in forms if f), key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text
