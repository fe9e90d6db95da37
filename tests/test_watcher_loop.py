"""The autonomous loop end to end (issue 12 §2–§4, small sizes): the WATCHER flow ticking over a
synthetic feed on a real Prefect server (the test harness), the real pipeline and retrain flows
dispatched in-process, the store in SQLite, approvals and the halt from the real CLI.

* Re-seed world: C ``rand() % 1000`` seeded with A, re-seeded with B at draw 400. Before the
  change the WATCHER only waits (or retrains); after it the regime shift is detected within a few
  draws, a search on the draws after the change point finds B, and predictions hit again.
* Entropy world: OS entropy; no more searches than the budget, never signal.
* Approvals, the timeout, the halt, idempotent ticks; the feed's truth never in the store.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.testing.utilities import prefect_test_harness

from flows.pipeline import pipeline
from flows.stream_slot import slot_name
from flows.watcher import watcher_tick
from mimicry.loop.feed import FeedSpec, Reseed, feed, save_feed
from mimicry.requests import PipelineRequest, RankingSettings, SieveSettings
from mimicry.settings import get_settings
from mimicry.store.database import connect
from mimicry.store.decisions import list_decisions
from mimicry.store.models import DecisionRecord, Run
from mimicry.store.predictions import run_scores
from mimicry.store.streams import append_draws
from tests.random_advisor import random_advisor
from tests.test_cli import MIMICRY
from watcher.picture import picture_path
from watcher.policy import Policy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
#: The process a test's claim names as the decision's owner.
OWNER = "test-host:1"
RANKING = RankingSettings(scorer_trials=4, model_trials=1, permutations=19, decoys=120, folds=5)
#: The searches these tests make: one family, 4096 seeds.
SEARCH = dict(
    families=("glibc_rand",),
    sieve=SieveSettings(seeds=(0, 4095)),
    window_trials=8,
    trial_budget=4096,
    ranking=RANKING,
)


@pytest.fixture(scope="module")
def prefect_api():
    with prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture(autouse=True)
def heuristic_advisor(monkeypatch):
    """The worlds' advisor is the deterministic one; the model's own tests are in
    tests/test_advisor_local.py, and a bad advisor below is a real HTTP server."""
    monkeypatch.setenv("MIMICRY_LLM_BACKEND", "heuristic")
    get_settings.cache_clear()


def mimicry_events(name: str, at_least: int, seconds: float = 30) -> list[dict]:
    """The events called ``name`` the server holds, once ``at_least`` have arrived (a flow
    sends them in the background), and a second more for any that should not be there."""
    from prefect.settings import PREFECT_API_URL

    def read() -> list[dict]:
        answer = httpx.post(
            f"{PREFECT_API_URL.value()}/events/filter",
            json={"filter": {"event": {"name": [name]}}, "limit": 50},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()["events"]

    deadline = time.monotonic() + seconds
    while len(read()) < at_least and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1)
    return read()


def policy_file(home, text: str = "") -> str:
    path = home / "watcher.toml"
    path.write_text(text)
    return str(path)


def reseed_world(home, first: int, second: int, change: int = 400):
    path = home / "feed.json"
    spec = FeedSpec(
        stream="pick3",
        family="glibc_rand",
        seeds=[Reseed(position=0, seed=first), Reseed(position=change, seed=second)],
    )
    save_feed(path, spec)
    return path


def initial_search(stream: str) -> dict:
    return pipeline(PipelineRequest(stream=stream, **SEARCH))


def tick(policy: str, **kwargs) -> list[dict]:
    return watcher_tick(policy_file=policy, **kwargs)["decisions"]


def test_the_reseed_world_is_detected_searched_again_and_recovers(prefect_api, home):
    first, second = 1 + secrets.randbelow(4000), 1 + secrets.randbelow(4000)
    world = reseed_world(home, first, second)
    feed(world, 300)
    answer = initial_search("pick3")
    assert answer["signal"] == "signal"
    policy = policy_file(home, "stale_draws = 100000\n")
    for _ in range(40):  # draws 300 .. 500, five a tick
        feed(world, 5)
        tick(policy)
    with connect() as session:
        records = list(reversed(list_decisions(session, limit=500)))
        draws_at = [d.draws for d in records]
        before = [d for d, n in zip(records, draws_at, strict=True) if n <= 400]
        assert {d.action for d in before} <= {"wait", "retrain"}
        detected = next(d for d in records if any(t["name"] == "regime_shift" for t in d.triggers))
        shift = next(t for t in detected.triggers if t["name"] == "regime_shift")
        # The change point is estimated: an old pool that hits the new generator's first draw
        # by chance (K/M = 1 %) places it one draw later, where the search still finds B.
        assert 400 <= shift["change_point"] <= 402
        assert detected.draws - 400 <= 10  # detected within a few draws of the change
        research = [d for d in records if d.action == "research"]
        assert len(research) == 1 and research[0].status == "done", research
        assert 400 <= research[0].request["request"]["segment_start"] <= 402
        found = session.get(Run, research[0].run_id)
        assert found.parameters["decision_id"] == research[0].id  # traced both ways
        # Its best survivor predicts at once (the segment is too short to hold draws out) ...
        continued = run_scores(session, found.id)
        assert continued and all(hit for _, hit in continued)
        # ... until the segment can be ranked: a retrain on the search's survivors.
        retrains = [d for d in records if d.action == "retrain"]
        assert retrains and all(d.status == "done" for d in retrains), retrains
        ranked = session.get(Run, retrains[0].run_id)
        assert ranked.parameters["kind"] == "retrain" and ranked.summary["signal"] == "signal"
        assert ranked.parameters["search_run_id"] == found.id
        after = run_scores(session, ranked.id)
        assert after and sum(hit for _, hit in after) >= len(after) - 1
    recovered_at = continued[0][0]
    # The stream-health picture: a PNG under MIMICRY_HOME and an image artifact in the UI.
    picture = picture_path(get_settings().home, "pick3")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with get_client(sync_client=True) as client:
        images = [a for a in client.read_artifacts() if (a.key or "").startswith("stream-health-")]
    assert images and images[0].type == "image"
    assert images[0].data.startswith("data:image/png;base64,")
    print(
        f"re-seed world: change at 400, detected at {detected.draws}, searched at "
        f"{research[0].draws}, predictions hit again from draw {recovered_at}, ranked at "
        f"{retrains[0].draws}"
    )


def test_one_search_per_stream_at_a_time(prefect_api):
    """The stream's slot (a global concurrency limit of one): a second run on the same stream
    waits for it, a run on another stream does not; outside a deployment's flow run (a
    temporary server, no repossessor) no slot is taken."""
    from prefect.concurrency.sync import concurrency

    from flows.stream_slot import one_run_per_stream, stream_slot

    with one_run_per_stream("not in a deployment"), get_client(sync_client=True) as client:
        names = [limit.name for limit in client.read_global_concurrency_limits(limit=200)]
        assert slot_name("not in a deployment") not in names

    held, release = threading.Event(), threading.Event()

    def first_run():
        with stream_slot("busy/stream 1"):
            held.set()
            release.wait(60)

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert held.wait(60)
        with (
            pytest.raises(TimeoutError),
            concurrency(slot_name("busy/stream 1"), occupy=1, timeout_seconds=3, strict=True),
        ):
            pass
        with stream_slot("another stream"):
            pass
    finally:
        release.set()
        thread.join(60)
    with concurrency(slot_name("busy/stream 1"), occupy=1, timeout_seconds=30, strict=True):
        pass  # given back when the first run ended


@pytest.mark.parametrize("advisor", ["heuristic", "random"])
def test_the_entropy_world_searches_within_budget_and_never_finds_signal(
    prefect_api, home, advisor
):
    """Also with a bad advisor (random valid advice): it may ask for any action, and the
    policy still allows one search a day."""
    with connect() as session:
        append_draws(session, "noise", [secrets.randbelow(1000) for _ in range(300)], 1000, "os")
    assert initial_search("noise")["signal"] == "no_signal"
    policy = policy_file(home, "new_data_draws = 40\nsearches_per_day = 1\n")
    with random_advisor() if advisor == "random" else contextlib.nullcontext():
        for _ in range(5):
            with connect() as session:
                values = [secrets.randbelow(1000) for _ in range(20)]
                append_draws(session, "noise", values, 1000, "os")
            tick(policy)
    with connect() as session:
        records = list_decisions(session, limit=100)
        searches = [d for d in records if d.action == "research"]
        assert len(searches) == 1 and searches[0].status == "done"
        assert any("budget is spent (1 of 1" in d.rule for d in records)
        signals = [r.summary.get("signal") for r in session.query(Run).all()]
        assert "signal" not in signals


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MIMICRY, *args], capture_output=True, text=True, timeout=300)


def entropy_draws(name: str, draws: int) -> None:
    with connect() as session:
        append_draws(session, name, [secrets.randbelow(1000) for _ in range(draws)], 1000, "os")


def searched_stream(name: str) -> None:
    """A stream of OS entropy searched once (small, unranked), then 40 new draws: enough new
    data, under the policies below, for one more search."""
    entropy_draws(name, 30)
    pipeline(PipelineRequest(stream=name, rank=False, **SEARCH))
    entropy_draws(name, 40)


#: Searches wait for a person; 40 new draws on a stream without signal ask for one.
BY_A_PERSON = 'new_data_draws = 40\nresearch_approval = "person"\n'


def test_a_search_waits_for_a_person_and_runs_only_when_approved(prefect_api, home):
    searched_stream("fresh")
    policy = policy_file(home, BY_A_PERSON)
    (waiting,) = tick(policy)
    assert (waiting["action"], waiting["status"], waiting["run_id"]) == (
        "research",
        "pending_approval",
        None,
    )
    assert "research_approval = person" in json.dumps(waiting)
    # The same store state ticked again: the same decision, not a second one.
    (again,) = tick(policy)
    assert again["id"] == waiting["id"] and again["status"] == "pending_approval"
    listed = json.loads(cli("decisions", "--json").stdout)["decisions"]
    assert [d["id"] for d in listed] == [waiting["id"]]
    # One event for the operator (the second tick found the decision standing: no second one).
    told = mimicry_events("mimicry.decision.awaiting-approval", at_least=1)
    assert [e["payload"]["decision_id"] for e in told] == [waiting["id"]]
    assert told[0]["resource"]["prefect.resource.id"] == "mimicry.stream.fresh"
    approved = cli("approve", str(waiting["id"]), "--note", "go", "--json")
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout) == {"id": waiting["id"], "status": "approved"}
    tick(policy)  # dispatches what a person approved since the last tick
    with connect() as session:
        record = session.get(DecisionRecord, waiting["id"])
        assert record.status == "done" and record.approval["note"] == "go"
        run = session.get(Run, record.run_id)
        assert run.state == "completed" and run.parameters["decision_id"] == record.id
        assert run.parameters["families"] == ["glibc_rand"]  # the last search's, again
    # Answering it again is refused: one sentence, exit 2.
    twice = cli("approve", str(waiting["id"]))
    assert twice.returncode == 2
    assert (
        twice.stderr.strip()
        == f"mimicry: error: decision {waiting['id']} is done, not waiting for approval"
    )


def test_a_rejected_or_expired_decision_runs_nothing(prefect_api, home):
    searched_stream("a")
    searched_stream("b")
    policy = policy_file(home, BY_A_PERSON + "approval_timeout_minutes = 0.25\n")
    first = {d["stream"]: d for d in tick(policy)}
    rejected = cli("reject", str(first["a"]["id"]), "--note", "not now")
    assert rejected.returncode == 0 and "rejected" in rejected.stdout
    with connect(read_only=True) as session:
        record = session.get(DecisionRecord, first["b"]["id"])
        expires_at = record.expires_at.replace(tzinfo=record.expires_at.tzinfo or UTC)
        created_at = record.created_at.replace(tzinfo=record.created_at.tzinfo or UTC)
    assert (expires_at - created_at).total_seconds() <= 15.5  # the policy's 15 s timeout
    # Past b's expiry as the store holds it (the tick's own clock, which starts after the
    # flow run does: a fixed sleep from before the tick could end first on a loaded machine).
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds() + 1))
    late = cli("approve", str(first["b"]["id"]))
    assert late.returncode == 2 and "expired at" in late.stderr and "is rejected" in late.stderr
    tick(policy)
    with connect() as session:
        assert session.query(Run).count() == 2  # the two first searches; nothing since
        a = session.get(DecisionRecord, first["a"]["id"])
        b = session.get(DecisionRecord, first["b"]["id"])
        assert (a.status, a.outcome) == ("rejected", "rejected by " + a.approval["by"])
        assert (b.status, b.outcome) == ("rejected", "rejected by the approval timeout")
    # The person's note is in the listing, beside what became of the decision.
    listed = cli("decisions", "--stream", "a")
    assert f'rejected by {a.approval["by"]} ("not now")' in listed.stdout


def test_the_halt_switch_stops_ticks_and_dispatches(prefect_api, home):
    searched_stream("held")
    policy = policy_file(home, BY_A_PERSON)
    (waiting,) = tick(policy)
    assert cli("approve", str(waiting["id"])).returncode == 0
    halted = cli("watch", "--halt", "maintenance window", "--json")
    assert halted.returncode == 0 and json.loads(halted.stdout)["halted"] is True
    (record,) = tick(policy)
    assert record["status"] == "halted" and record["action"] == "wait"
    with connect() as session:
        # The approved decision was not dispatched while halted.
        assert session.get(DecisionRecord, waiting["id"]).status == "approved"
        assert session.query(Run).count() == 1
    assert cli("watch", "--resume").returncode == 0
    tick(policy)
    with connect() as session:
        assert session.get(DecisionRecord, waiting["id"]).status == "done"


def test_a_claim_is_taken_once_and_refused_while_halted(home):
    from mimicry.store.decisions import set_halt
    from watcher.lifecycle import claim
    from watcher.tick import review_stream

    entropy_draws("s", 50)  # never searched: a research of the defaults, approved by policy
    view = review_stream(
        "s", Policy(new_data_draws=40, research_approval="auto"), "t", NOW, get_settings()
    )
    assert view.status == "approved"
    with connect() as session:
        set_halt(session, True, "test")
    assert claim(view.id, OWNER) is None
    with connect() as session:
        assert session.get(DecisionRecord, view.id).status == "halted"
    # The same store state gives the same (halted) decision; a new draw, a new one.
    again = review_stream(
        "s", Policy(new_data_draws=40, research_approval="auto"), "t2", NOW, get_settings()
    )
    assert again.id == view.id and again.status == "halted"
    entropy_draws("s", 1)
    view = review_stream(
        "s", Policy(new_data_draws=40, research_approval="auto"), "t3", NOW, get_settings()
    )
    with connect() as session:
        set_halt(session, False, None)
    first, second = claim(view.id, OWNER), claim(view.id, OWNER)
    assert first is not None and second is None


def test_a_dispatched_run_whose_flow_run_ended_without_it_fails_its_decision(home):
    """A deployment's flow run that crashed (or was cancelled, or lost) before its run reached
    the store must not leave the decision running, blocking the stream for good."""
    from watcher.lifecycle import claim, resolve_running, started
    from watcher.tick import review_stream

    entropy_draws("s", 50)
    view = review_stream(
        "s", Policy(new_data_draws=40, research_approval="auto"), "t", NOW, get_settings()
    )
    assert claim(view.id, OWNER) is not None
    started(view.id, "2f5f3b9e-0000-4000-8000-000000000000")
    asked = []

    def still_running(flow_run_id):
        asked.append(flow_run_id)
        return None

    assert resolve_running(still_running, NOW, 15.0) == []
    assert asked == ["2f5f3b9e-0000-4000-8000-000000000000"]
    with connect() as session:
        assert session.get(DecisionRecord, view.id).status == "running"
    ended = resolve_running(lambda _: "Crashed: the worker's process was killed", NOW, 15.0)
    assert ended == [view.id]
    with connect() as session:
        record = session.get(DecisionRecord, view.id)
        assert record.status == "failed"
        assert record.outcome == "flow run ended Crashed: the worker's process was killed"
    # The stream is free again: the next review may decide a new search.
    entropy_draws("s", 1)
    again = review_stream(
        "s", Policy(new_data_draws=40, research_approval="auto"), "t2", NOW, get_settings()
    )
    assert again.id != view.id and again.action == "research"


def test_watch_serve_ticks_on_its_schedule_and_stops_cleanly(home, monkeypatch):
    """``mimicry watch --serve`` without a Prefect server of the user's: the server it starts
    runs the scheduler (a temporary server does not, and no tick ever ran), on a database of
    its own; SIGTERM stops it without a traceback and leaves no process behind."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    entropy_draws("s", 20)
    log = home / "serve.log"
    with log.open("w") as out:
        serve = subprocess.Popen(
            [*MIMICRY, "watch", "--serve", "--interval", "0.1"], stdout=out, stderr=out
        )
        deadline, ticks = time.monotonic() + 240, 0
        while time.monotonic() < deadline and ticks < 2 and serve.poll() is None:
            time.sleep(2)
            with connect(read_only=True) as session:
                ticks = session.query(DecisionRecord).count()
        serve.terminate()
        code = serve.wait(120)
    output = log.read_text()
    assert ticks >= 2, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert code in (0, 143), output[-3000:]
    assert (get_settings().home / "prefect-services.db").is_file()
    with connect(read_only=True) as session:
        assert {d.action for d in list_decisions(session, limit=10)} == {"wait"}


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        ((), "name one of --once, --serve, --halt REASON or --resume"),
        (("--once", "--resume"), "name one of --once, --serve, --halt REASON or --resume"),
        (("--once", "--policy", "missing.toml"), "--policy: missing.toml is not a file"),
    ],
)
def test_watch_refuses_bad_flags_in_one_sentence(home, args, sentence):
    proc = cli("watch", *args)
    assert proc.returncode == 2 and proc.stderr.strip() == f"mimicry: error: {sentence}"


def test_a_bad_policy_file_is_refused_before_the_tick(home):
    (home / "bad.toml").write_text("[acceptance]\nmax_change = 3\n")
    proc = cli("watch", "--once", "--policy", str(home / "bad.toml"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"mimicry: error: {home / 'bad.toml'}: unknown key 'acceptance.max_change'"
    )


def test_approving_an_unknown_decision_is_one_sentence(home):
    entropy_draws("s", 5)
    proc = cli("approve", "999")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "mimicry: error: no decision 999 in the store (mimicry decisions lists them)"
    )


def test_a_random_advisor_stays_inside_the_policy_and_the_world_still_recovers(prefect_api, home):
    with random_advisor() as advisor:
        first, second = 1 + secrets.randbelow(4000), 1 + secrets.randbelow(4000)
        world = reseed_world(home, first, second, change=330)
        feed(world, 300)
        assert initial_search("pick3")["signal"] == "signal"
        policy = policy_file(home, "stale_draws = 100000\n")
        for _ in range(12):  # draws 300 .. 360, five a tick
            feed(world, 5)
            tick(policy)
    assert advisor.answered > 0
    defaults = Policy().acceptance
    with connect() as session:
        records = list_decisions(session, limit=500)
        advised = [d for d in records if d.advice is not None]
        assert advised and all(not d.advice["degraded"] for d in advised)
        for record in records:
            for verdict in record.proposals:
                if verdict["outcome"] == "accepted":
                    low, high = defaults.bounds[verdict["parameter"]]
                    assert verdict["parameter"] in defaults.whitelist
                    assert low <= verdict["value"] <= high
                    change = abs(verdict["value"] - verdict["current"]) / verdict["current"]
                    assert change <= defaults.auto_accept_relative_change
        research = [d for d in records if d.action == "research" and d.status == "done"]
        assert research
        # The re-seed at 330 lies where the search reaches: the segment starts at the change
        # or, when chance hits of the old run right after it made the estimate late, up to its
        # offsets after it (the slack of the earliest change within the likelihood ratio).
        searched = research[-1].request["request"]
        start, reach = searched["segment_start"], (searched["sieve"]["offsets"] or (0, 0))[1]
        assert start - reach <= 330 <= start, (start, reach)
        found = session.get(Run, research[-1].run_id)
        continued = run_scores(session, found.id)
        assert continued and all(hit for _, hit in continued)


def test_the_ui_form_answers_a_decision(prefect_api, home):
    """The approval flow pauses with its form; input sent through the Prefect API (what the
    UI's form does) approves the decision."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.flow_runs import resume_flow_run

    from flows.approval import approval
    from watcher.tick import review_stream

    entropy_draws("s", 50)  # never searched: a research of the defaults waits for a person
    view = review_stream("s", Policy(new_data_draws=40), "t", datetime.now(UTC), get_settings())
    assert view.status == "pending_approval"
    outcome = {}
    runner = threading.Thread(
        target=lambda: outcome.update(state=approval(view.id, return_state=True))
    )
    runner.start()
    name = f"decision-{view.id}"
    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
            )
            if runs and runs[0].state.is_paused():
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the approval flow never paused for its form")
        assert runs[0].state.state_details.run_input_keyset  # it waits for input, not a click
    resume_flow_run(runs[0].id, run_input={"approve": True, "note": "looks right"})
    runner.join(120)
    # The run ends in a state named by what was decided, and where.
    assert (outcome["state"].type.value, outcome["state"].name) == ("COMPLETED", "Approved")
    assert outcome["state"].message == f"decision {view.id}: approved by prefect-ui (in this form)"
    with connect() as session:
        record = session.get(DecisionRecord, view.id)
        assert record.status == "approved"
        assert record.approval["by"] == "prefect-ui" and record.approval["note"] == "looks right"
