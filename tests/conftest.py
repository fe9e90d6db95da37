"""Shared fixtures: real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from mimicry.settings import get_settings
from tests.stores import store


@pytest.fixture(autouse=True)
def fresh_settings():
    """Settings are read once per process; each test reads its own environment afresh."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path, monkeypatch):
    """The URL of an empty store of each kind, also set as ``MIMICRY_DATABASE_URL``."""
    with store(request.param, tmp_path) as url:
        monkeypatch.setenv("MIMICRY_DATABASE_URL", url)
        get_settings.cache_clear()
        yield url


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh embedded store for the test (SQLite under MIMICRY_HOME); returns ``tmp_path``."""
    monkeypatch.delenv("MIMICRY_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIMICRY_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    return tmp_path
