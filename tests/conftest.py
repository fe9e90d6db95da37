"""Shared fixtures: real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import tempfile
from pathlib import Path

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


#: The test files that take the longest (wall seconds on a worker, measured with three workers
#: on two cores with a cold kernel cache: 400 to 30), first: pytest-xdist hands files out in
#: collection order (scripts/test.sh turns off its re-sorting by number of tests, which handed
#: out the 8-test, 6-minute e2e file last), and a long file handed out last keeps one worker
#: busy after the others have finished.
LONGEST_FIRST = (
    "test_e2e_deployment.py",
    "test_watcher_loop.py",
    "test_loop_faults.py",
    "test_backend_conformance.py",
    "test_pipeline.py",
    "test_lifetime.py",
    "test_reliability.py",
    "test_two_worlds.py",
    "test_cli.py",
    "test_advisor_local.py",
    "test_store.py",
    "test_gpu_backend.py",
    "test_advisor_faults.py",
    "test_readme.py",
    "test_statistics.py",
    "test_terminal_text.py",
    "test_run_ingest.py",
    "test_sieve_properties.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the soaks the collected tests will read (tests/test_soak.py) now, so that they run
    beside the rest of the suite instead of after it."""
    from tests.test_soak import start_soaks

    if session.config.option.collectonly:
        return
    names = {
        marker.args[0]
        for item in session.items
        if (marker := item.get_closest_marker("soak")) is not None
    }
    if names and hasattr(session.config, "workerinput"):
        # Each pytest-xdist worker collects every test: each would start its own soaks.
        raise pytest.UsageError("the soaks run in one pytest process: add -n 0")
    if names:
        start_soaks(session.config, names, Path(tempfile.mkdtemp(prefix="mimicry-soaks-")))


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.test_soak import stop_soaks

    stop_soaks(session.config)
