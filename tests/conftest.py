"""Shared fixtures: real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.stores import store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path, monkeypatch):
    """The URL of an empty store of each kind, also set as ``MIMICRY_DATABASE_URL``."""
    with store(request.param, tmp_path) as url:
        monkeypatch.setenv("MIMICRY_DATABASE_URL", url)
        yield url
