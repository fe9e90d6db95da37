"""The store on real SQLite and real PostgreSQL: schema, ingest, the coverage ledger, results.

Each test runs once per database kind (``store_url`` fixture): a SQLite file in a temporary
folder, and a PostgreSQL database created for the test and dropped after it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from gpu_kernels.job import ChunkResult, SieveJob, WindowMatch
from mimicry.draws import stream_draws
from mimicry.search.sieve import assemble
from mimicry.store.database import (
    SCHEMA_REVISION,
    StoreLost,
    connect,
    current_revision,
    engine_for,
    head_revision,
    upgrade,
)
from mimicry.store.models import Chunk, Draw, Ingest, Run, Stream, SurvivorRecord
from mimicry.store.runs import (
    chunk_results,
    create_job,
    create_run,
    finish_run,
    ledger_chunks,
    record_chunk,
    store_result,
)
from mimicry.store.streams import (
    StoreConflict,
    append_draws,
    append_history,
    draw_count,
    stored_values,
)
from tests.history import seeded_history, write_draws
from tests.stores import fresh_postgres
from tests.test_cli import MIMICRY


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_an_empty_database_is_migrated_by_itself(store_url):
    engine = engine_for(store_url)
    assert current_revision(engine) is None
    with connect(store_url) as session:
        assert count(session, Stream) == 0
    assert current_revision(engine) == head_revision()
    # Optuna shares the database and keeps its own `alembic_version`; ours has another name.
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM mimicry_alembic_version"))
        assert version.scalar() == head_revision()
    assert upgrade(store_url) == head_revision()  # idempotent


def test_schema_revision_is_the_newest_migration(store_url):
    """The constant the fast path trusts names the newest migration; a store at it is opened
    without importing Alembic (a fresh process), an empty one is migrated with it."""
    assert head_revision() == SCHEMA_REVISION
    script = (
        "import sys\n"
        "from mimicry.store.database import connect\n"
        "with connect() as session:\n"
        "    pass\n"
        "print('alembic' in sys.modules)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 0], runs[-1].stderr
    assert [run.stdout.strip() for run in runs] == ["True", "False"]
    assert current_revision(engine_for(store_url)) == SCHEMA_REVISION


def test_migration_0005_keeps_where_each_draw_came_from(store_url):
    from alembic import command

    from mimicry.store.database import alembic_config

    config = alembic_config(store_url)
    command.upgrade(config, "0004")
    with engine_for(store_url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO streams (id, name, modulus, created_at) VALUES "
                "(1, 's', 10, '2026-01-01 00:00:00')"
            )
        )
        for position, source in enumerate(["a.txt", "a.txt", "b.txt", None]):
            connection.execute(
                text(
                    "INSERT INTO draws (stream_id, position, value, source, ingested_at) "
                    "VALUES (1, :position, :value, :source, '2026-01-01 00:00:00')"
                ),
                {"position": position, "value": position + 3, "source": source},
            )
    command.upgrade(config, "head")
    with connect(store_url) as session:
        draws = session.scalars(select(Draw).order_by(Draw.position)).all()
        assert [d.value for d in draws] == [3, 4, 5, 6]
        assert [d.ingest.source for d in draws] == ["a.txt", "a.txt", "b.txt", None]
        ingests = {i.source: (i.first_position, i.draws) for i in session.scalars(select(Ingest))}
        assert ingests == {"a.txt": (0, 2), "b.txt": (2, 1), None: (3, 1)}


def test_db_upgrade_command(store_url, tmp_path):
    proc = subprocess.run([*MIMICRY, "db", "upgrade"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"is at revision {head_revision()}" in proc.stdout
    assert current_revision(engine_for(store_url)) == head_revision()


def test_ingest_appends_and_is_idempotent(store_url, tmp_path):
    draws = seeded_history("mt19937", 77, 50)
    full = stream_draws(write_draws(tmp_path / "full.txt", draws), modulus=1000)
    head = stream_draws(write_draws(tmp_path / "head.txt", draws[:30]), modulus=1000)
    with connect(store_url) as session:
        report = append_history(session, "pick3", head, 1000)
        assert (report.added, report.total) == (30, 30)
        assert draw_count(session, session.scalar(select(Stream))) == 30
    with connect(store_url) as session:
        report = append_history(session, "pick3", full, 1000)
        assert (report.added, report.total) == (20, 50)
    for history in (full, head):  # the same file again, or an older shorter one: nothing new
        with connect(store_url) as session:
            report = append_history(session, "pick3", history, 1000)
            assert (report.added, report.total) == (0, 50)
    with connect(store_url) as session:
        stream = session.scalar(select(Stream).where(Stream.name == "pick3"))
        assert list(stored_values(session, stream)) == draws
        assert count(session, Draw) == draw_count(session, stream) == 50
        first, last = session.get(Draw, (stream.id, 0)), session.get(Draw, (stream.id, 49))
        assert first.ingest.source == str(tmp_path / "head.txt")
        assert last.ingest.source == str(tmp_path / "full.txt")
        assert [(i.first_position, i.draws) for i in session.scalars(select(Ingest))] == [
            (0, 30),
            (30, 20),
        ]


def test_a_disagreeing_file_is_refused_whole(store_url, tmp_path):
    draws = seeded_history("glibc_rand", 5, 40)
    with connect(store_url) as session:
        append_history(
            session,
            "s",
            stream_draws(write_draws(tmp_path / "a.txt", draws[:20]), modulus=1000),
            1000,
        )
    changed = draws.copy()
    changed[12] = (changed[12] + 1) % 1000
    bad = stream_draws(write_draws(tmp_path / "b.txt", changed), modulus=1000)
    with pytest.raises(StoreConflict) as error, connect(store_url) as session:
        append_history(session, "s", bad, 1000)
    assert str(error.value) == (
        f"Draw file '{tmp_path / 'b.txt'}', line 13 is {changed[12]}, but stream 's' already "
        f"holds {draws[12]} at position 12; nothing was ingested"
    )
    with connect(store_url) as session:
        assert count(session, Draw) == 20  # not even the 20 new ones


def test_a_stream_keeps_its_modulus(store_url, tmp_path):
    with connect(store_url) as session:
        append_history(
            session, "s", stream_draws(write_draws(tmp_path / "a.txt", [1, 2]), modulus=10), 10
        )
    wider = stream_draws(write_draws(tmp_path / "b.txt", [1, 2, 3]), modulus=1000)
    with (
        pytest.raises(StoreConflict, match=r"holds draws in \[0, 10\).*modulus is 1000"),
        connect(store_url) as session,
    ):
        append_history(session, "s", wider, 1000)


def test_concurrent_ingests_of_one_stream_store_each_draw_once(store_url, tmp_path):
    draws = seeded_history("mt19937", 9, 300)
    history = stream_draws(write_draws(tmp_path / "d.txt", draws), modulus=1000)

    def ingest(_):
        with connect(store_url) as session:
            return append_history(session, "shared", history, 1000).added

    with ThreadPoolExecutor(4) as pool:
        added = list(pool.map(ingest, range(4)))
    assert sum(added) == 300
    with connect(store_url) as session:
        assert count(session, Draw) == 300
        assert count(session, Stream) == 1


def test_a_hand_reported_draw_is_appended(store_url, tmp_path):
    with connect(store_url) as session:
        append_history(
            session, "s", stream_draws(write_draws(tmp_path / "a.txt", [4, 5]), modulus=10), 10
        )
        report = append_draws(session, "s", [7], 10, source="evaluate")
        assert (report.added, report.total) == (1, 3)
        with pytest.raises(StoreConflict, match=r"draw 10 is outside \[0, 10\)"):
            append_draws(session, "s", [10], 10, source="evaluate")


def _job(seed: int) -> SieveJob:
    return SieveJob(
        family="xorshift64",
        window=tuple(seeded_history("xorshift64", seed, 6)),
        candidate_range=(2**64 - 100, 2**64 - 1),
    )


def test_the_ledger_keeps_64_bit_chunks_once_and_counts_executions(store_url):
    job = _job(2**64 - 7)
    match = WindowMatch(candidate=2**64 - 7, first_call=0, skip=0, matches=6)
    halves = [
        ChunkResult(lo=2**64 - 100, hi=2**64 - 50, matches=[], candidates_tested=50, seconds=0.1),
        ChunkResult(lo=2**64 - 50, hi=2**64, matches=[match], candidates_tested=50, seconds=0.2),
    ]
    with connect(store_url) as session:
        assert record_chunk(session, job.key, "k1", halves[1], worker="w1")
        assert not record_chunk(session, job.key, "k1", halves[1], worker="w2")
        assert record_chunk(session, job.key, "k2", halves[1])  # another kernel: its own row
    with connect(store_url) as session:
        rows = ledger_chunks(session, job.key, "k1")
        assert [(r.lo, r.hi, r.executions, r.worker) for r in rows] == [
            (2**64 - 50, 2**64, 2, "w1")
        ]
        history = seeded_history("xorshift64", 2**64 - 7, 20)
        partial = assemble(history, job, chunk_results(rows))
        assert not partial.stats.complete
        assert partial.stats.missing_ranges == [(2**64 - 100, 2**64 - 51)]
        record_chunk(session, job.key, "k1", halves[0])
    with connect(store_url) as session:
        whole = assemble(history, job, chunk_results(ledger_chunks(session, job.key, "k1")))
    assert whole.stats.complete and whole.survivors[0].seed == 2**64 - 7


def test_a_run_stores_its_job_and_survivors(store_url, tmp_path):
    seed = 2**64 - 7
    history = seeded_history("xorshift64", seed, 20)
    job = _job(seed)
    with connect(store_url) as session:
        append_history(
            session, "s", stream_draws(write_draws(tmp_path / "a.txt", history), modulus=1000), 1000
        )
        stream = session.scalar(select(Stream))
        run = create_run(session, stream.id, {"families": ["xorshift64"]}, draws_used=20)
        chunk = ChunkResult(
            lo=2**64 - 100,
            hi=2**64,
            matches=[WindowMatch(candidate=seed, first_call=0, skip=0, matches=6)],
            candidates_tested=100,
            seconds=0.1,
        )
        result = assemble(history, job, [chunk], predict=3)
        record = create_job(session, run.id, job, "k1", "cpu", 100)
        store_result(session, record.id, result)
        finish_run(session, run.id, "completed", {"survivor_count": 1})
    with connect(store_url) as session:
        run = session.get(Run, run.id)
        assert run.state == "completed" and run.finished_at is not None
        (job_record,) = run.jobs
        assert job_record.state == "complete" and job_record.job_key == job.key
        assert SieveJob.model_validate(job_record.job) == job
        (survivor,) = job_record.survivors
        assert survivor.seed == seed and survivor.rank == 0
        assert (survivor.offset, survivor.first_call) == (0, 0)
        assert survivor.next == seeded_history("xorshift64", seed, 23)[20:]
        assert count(session, SurvivorRecord) == 1


def test_ingest_command_and_its_bad_input(store_url, tmp_path):
    def ingest(*args):
        return subprocess.run(
            [*MIMICRY, "ingest", *args], capture_output=True, text=True, timeout=120
        )

    draws = seeded_history("mt19937", 3, 25)
    good = write_draws(tmp_path / "good.txt", draws)
    proc = ingest(str(good), "--stream", "pick3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "stream 'pick3': 25 new draws, 25 in all"

    out_of_range = write_draws(tmp_path / "range.txt", [*draws, 1000])
    changed = write_draws(tmp_path / "changed.txt", [draws[0] ^ 1, *draws[1:]])
    cases = {
        "value outside [0, M)": (
            [str(out_of_range), "--stream", "pick3"],
            f"mimicry: error: Draw file '{out_of_range}', line 26: value 1000 is outside the "
            "range [0, 1000).",
        ),
        "disagrees with the stored history": (
            [str(changed), "--stream", "pick3"],
            f"mimicry: error: Draw file '{changed}', line 1 is {draws[0] ^ 1}, but stream "
            f"'pick3' already holds {draws[0]} at position 0; nothing was ingested",
        ),
        "another modulus": (
            [str(good), "--stream", "pick3", "--modulus", "2000"],
            "mimicry: error: stream 'pick3' holds draws in [0, 1000), but this input's modulus "
            "is 2000; use --modulus 1000 or another --stream",
        ),
        "missing file": (
            [str(tmp_path / "nope.txt"), "--stream", "pick3"],
            None,
        ),
    }
    for kind, (args, message) in cases.items():
        proc = ingest(*args)
        assert proc.returncode == 2, kind
        assert proc.stdout == "", kind
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (kind, proc.stderr)
        if message:
            assert lines[0] == message, kind
        else:
            assert lines[0].startswith("mimicry: error: ") and "nope.txt" in lines[0]
    with connect(store_url) as session:
        assert count(session, Draw) == 25


def test_an_unreachable_store_is_one_sentence_and_exit_3(tmp_path, monkeypatch):
    monkeypatch.setenv("MIMICRY_DATABASE_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:9/x")
    proc = subprocess.run([*MIMICRY, "status"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(
        "mimicry: error: cannot use the store at postgresql+psycopg://nobody:***@127.0.0.1:9/x: "
    )
    assert "secret" not in proc.stderr


def test_a_sqlite_store_deleted_or_replaced_under_a_process_is_never_written_to(home):
    with connect() as session:
        session.add(Stream(name="s", modulus=10))
    store = home / "home" / "mimicry.db"
    for file in store.parent.glob("mimicry.db*"):
        file.unlink()
    with (
        pytest.raises(StoreLost, match=f"the store {store} was deleted or replaced"),
        connect() as session,
    ):
        session.add(Stream(name="t", modulus=10))
    store.write_bytes(b"")  # another file at the same path is not the store either
    with pytest.raises(StoreLost), connect() as session:
        session.scalar(select(func.count()).select_from(Stream))


def run_refused(url: str, draws: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """``mimicry run`` on the store at ``url``, expected to stop before any work."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIMICRY_", "PREFECT_API"))}
    env["MIMICRY_DATABASE_URL"] = url
    return subprocess.run(
        [*MIMICRY, "run", str(draws), "--stream", "s", "--no-rank", *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_refuses_a_conflicting_stream_before_any_work(store_url, tmp_path):
    draws = seeded_history("glibc_rand", 5, 40)
    with connect(store_url) as session:
        append_history(
            session, "s", stream_draws(write_draws(tmp_path / "a.txt", draws), modulus=1000), 1000
        )
    changed = draws.copy()
    changed[7] = (changed[7] + 1) % 1000
    other = write_draws(tmp_path / "b.txt", changed)
    for flags, expected in (
        (("--modulus", "999"), "stream 's' holds draws in [0, 1000), but this input's modulus"),
        ((), f"Draw file '{other}', line 8 is {changed[7]}, but stream 's' already holds"),
    ):
        proc = run_refused(store_url, other if not flags else tmp_path / "a.txt", *flags)
        assert proc.returncode == 2, proc.stderr
        (line,) = proc.stderr.strip().splitlines()  # no flow started, no retry, no traceback
        assert line.startswith(f"mimicry: error: {expected}")
    with connect(store_url) as session:
        assert count(session, Run) == 0 and count(session, Draw) == 40


def test_run_refuses_a_read_only_or_unreachable_store_with_exit_3(tmp_path):
    draws = write_draws(tmp_path / "a.txt", seeded_history("glibc_rand", 5, 40))
    sqlite_file = tmp_path / "store.db"
    with connect(f"sqlite:///{sqlite_file}"):
        pass  # a store, migrated
    read_only_sqlite = f"sqlite:///file:{sqlite_file}?mode=ro&uri=true"
    unreachable = "postgresql+psycopg://nobody:secret@127.0.0.1:9/x"
    with fresh_postgres() as postgres:
        with connect(postgres):
            pass
        read_only_postgres = f"{postgres}?options=-c%20default_transaction_read_only%3Don"
        for url, expected in (
            (read_only_sqlite, f"the store {sqlite_file} is opened read-only"),
            (read_only_postgres, "is read-only for this user"),
            (unreachable, "cannot use the store at postgresql+psycopg://nobody:***@127.0.0.1:9/x"),
        ):
            proc = run_refused(url, draws)
            assert proc.returncode == 3, proc.stderr
            (line,) = proc.stderr.strip().splitlines()
            assert line.startswith("mimicry: error: the store") or "cannot use" in line
            assert expected in line and "secret" not in line
        with connect(postgres) as session:
            assert count(session, Run) == 0 and count(session, Draw) == 0


def test_status_lists_streams_and_runs(store_url, tmp_path):
    with connect(store_url) as session:
        append_history(
            session, "s", stream_draws(write_draws(tmp_path / "a.txt", [1, 2, 3]), modulus=10), 10
        )
        create_run(session, session.scalar(select(Stream.id)), {}, draws_used=3, run_id="r-1")
    proc = subprocess.run(
        [*MIMICRY, "status", "--json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    import json

    status = json.loads(proc.stdout)
    assert status["streams"] == [{"stream": "s", "modulus": 10, "draws": 3}]
    assert [(r["run_id"], r["stream"], r["state"]) for r in status["runs"]] == [
        ("r-1", "s", "running")
    ]


def test_chunk_rows_are_unsigned_64_bit(store_url):
    with connect(store_url) as session:
        session.add(
            Chunk(
                job_key="j",
                kernel_version="k",
                lo=2**64 - 2,
                hi=2**64 - 1,
                backend="cpu",
                matches=[],
                match_count=0,
                seconds=0.0,
            )
        )
    with connect(store_url) as session:
        row = session.scalar(select(Chunk))
        assert (row.lo, row.hi) == (2**64 - 2, 2**64 - 1)
        assert isinstance(row.lo, int)
    assert sys.maxsize < 2**64 - 1  # the values really exceed a signed 64-bit integer


def test_one_rule_for_stream_names_on_both_databases(store_url, tmp_path):
    """Names are checked before anything is written, the same on SQLite (which would store any
    length) and PostgreSQL (whose varchar(200) would fail with a traceback)."""
    path = write_draws(tmp_path / "d.txt", seeded_history("mt19937", 3, 10))

    def ingest(name: str):
        return subprocess.run(
            [*MIMICRY, "ingest", path, "--stream", name],
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = {
        "": "a stream name must not be empty",
        "x" * 201: "a stream name has at most 200 characters; this one has 201",
        "red\x1b[31m": "a stream name must not hold control characters; character 4 is U+001B",
        "tab\tname": "a stream name must not hold control characters; character 4 is U+0009",
        " padded": "a stream name must not start or end with white space",
    }
    for name, message in refused.items():
        proc = ingest(name)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr == f"mimicry: error: --stream: {message}\n"
    with connect(store_url) as session:
        assert session.scalar(select(func.count()).select_from(Stream)) == 0
    longest = "é" * 200  # characters, not bytes
    proc = ingest(longest)
    assert proc.returncode == 0, proc.stderr
    with connect(store_url) as session:
        assert session.scalar(select(Stream.name)) == longest


def test_only_a_completed_run_feeds_predictions(store_url, tmp_path):
    """A run killed during ranking stays "running" with its population stored; predictions and
    evaluations must come from the newest *completed* ranked run, or from none."""
    from mimicry.store.predictions import latest_ranked_run, save_population

    history = seeded_history("mt19937", 3, 10)
    with connect(store_url) as session:
        append_history(
            session, "s", stream_draws(write_draws(tmp_path / "a.txt", history), modulus=1000), 1000
        )
        stream = session.scalar(select(Stream))
        killed = create_run(session, stream.id, {}, draws_used=10)
        save_population(session, killed.id, [], {}, {})
        assert latest_ranked_run(session, stream.id) is None  # nothing completed yet
        done = create_run(session, stream.id, {}, draws_used=10)
        save_population(session, done.id, [], {}, {})
        finish_run(session, done.id, "completed")
        newer = create_run(session, stream.id, {}, draws_used=10)  # still "running"
        save_population(session, newer.id, [], {}, {})
        assert latest_ranked_run(session, stream.id).id == done.id


def test_a_stream_label_is_safe_and_never_shared():
    """Labels name picture files and Prefect concurrency limits: only safe characters, bounded,
    and two names that read the same once cleaned still get two labels."""
    from mimicry.names import stream_label

    first, second = stream_label("pick 3/east"), stream_label("pick_3_east")
    assert first != second
    assert first.startswith("pick_3_east-") and second.startswith("pick_3_east-")
    long = stream_label("ä" * 5 + "x" * 190)
    assert len(long) <= 60 + 9 and re.fullmatch(r"[A-Za-z0-9._-]+", long)
    assert re.fullmatch(r"stream-[0-9a-f]{8}", stream_label("€€€"))
