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


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh embedded store for the test (SQLite under MIMICRY_HOME); returns ``tmp_path``."""
    monkeypatch.delenv("MIMICRY_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIMICRY_HOME", str(tmp_path / "home"))
    return tmp_path
