"""Selfplay end to end (docs/design.md §21): a stream made by glibc's ``rand()`` (through ctypes)
that a default run answers with no signal, explored by ``mimicry selfplay`` on a real store,
promoted through the gate and the acceptance, searched with the new champion, and then scored
live on draws selfplay never saw; an entropy stream that is never promoted; the champion's
versions; the store's records on SQLite and PostgreSQL; and the refusals of bad input.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from mimicry.selfplay.candidate import Candidate, ExplorationSpace, trial_params
from mimicry.store.location import database_url
from mimicry.store.selfplay import (
    NewCandidate,
    NewChampion,
    add_champion,
    champion,
    champion_history,
    end_champion,
    record_candidate,
    settle_champion,
    start_episode,
    tried_since_promotion,
    usage_since,
)
from mimicry.store.statuses import CandidateVerdict, ChampionState
from mimicry.store.streams import append
from tests.runtimes import glibc
from tests.test_cli import MIMICRY

#: The hidden generator: glibc rand() seeded with SEED, OFFSET calls discarded before the first
#: draw, SKIP calls between draws, a fifth of the draws replaced by noise.
SEED, OFFSET, SKIP, NOISE, MODULUS = 3071, 5, 1, 0.2, 1000
SEEDS = "0..4095"
POLICY = """
[selfplay]
origins = 2
horizon = 20
live_draws = 10
min_training = 80
alpha = 0.01
min_effect = 0.2
[selfplay.space]
families = ["glibc_rand"]
max_offset = 8
max_skip = 2
window_trials = [4, 8]
trial_budget = [4096, 4096]
scorer_trials = [2, 3]
model_trials = [1, 1]
pool_size = [10, 10]
"""
#: The base search: one family, a small ranking (the candidate changes the sieve's knobs).
BASE = [
    "--family",
    "glibc_rand",
    "--seeds",
    SEEDS,
    "--model-type",
    "lightgbm",
    "--model-trials",
    "1",
    "--permutations",
    "19",
    "--window-trials",
    "4",
    "--trial-budget",
    "4096",
]


def world(count: int, start: int = 0) -> list[int]:
    """Draws ``start .. start + count - 1`` of the hidden generator."""
    words = glibc().rand_words(SEED, OFFSET + (start + count) * (SKIP + 1))[OFFSET:]
    rng = np.random.default_rng(SEED)
    noise = rng.random(start + count) < NOISE
    values = rng.integers(MODULUS, size=start + count)
    return [
        int(values[i]) if noise[i] else words[i * (SKIP + 1)] % MODULUS
        for i in range(start, start + count)
    ]


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MIMICRY_")}
    env.update(MIMICRY_HOME=str(tmp_path / "home"), COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [*MIMICRY, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )


def write(path: Path, draws: list[int]) -> Path:
    path.write_text("\n".join(map(str, draws)) + "\n")
    return path


THE_TRUTH = Candidate(
    families=("glibc_rand",),
    window=8,
    window_start=None,
    min_matches=5,
    offsets=(0, 8),
    skip=(0, 1),
    variable_skip=False,
    window_trials=8,
    trial_budget=4096,
    scorer_trials=2,
    model_trials=1,
    pool_size=10,
)


def test_a_missed_generator_is_found_promoted_and_hits_live(tmp_path, monkeypatch):
    history = world(150)
    (tmp_path / "policy.toml").write_text(POLICY)
    first = cli(
        tmp_path, "run", str(write(tmp_path / "w.txt", history)), "--stream", "w", *BASE, "--json"
    )
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads(first.stdout)["signal"] == "no_signal"
    # The study proposes what it proposes; the test puts the configuration a person would try
    # first in its queue (the advisor's way in), so that one episode is enough here. How the
    # study finds it on its own is measured in benchmarks/selfplay.py.
    monkeypatch.setenv("MIMICRY_HOME", str(tmp_path / "home"))
    from mimicry.store.studies import resumable_study
    from watcher.explore import study_name

    space = ExplorationSpace(
        families=("glibc_rand",),
        max_offset=8,
        max_skip=2,
        window_trials=(4, 8),
        trial_budget=(4096, 4096),
        scorer_trials=(2, 3),
        model_trials=(1, 1),
        pool_size=(10, 10),
    )
    study = resumable_study(study_name("w"), database_url(), 0)
    study.enqueue_trial(trial_params(THE_TRUTH, space))

    explored = cli(tmp_path, "selfplay", "--stream", "w", "--policy", "policy.toml", "--json")
    assert explored.returncode == 0, explored.stderr[-3000:]
    answer = json.loads(explored.stdout)
    assert answer["stream"] == "w" and len(answer["episodes"]) == 1
    episode = answer["episodes"][0]
    assert episode["verdict"] == "promoted", episode["reason"]
    assert set(episode["replay"]) == {"hits", "draws", "gain"}
    assert episode["p_value"] <= episode["gate"]["level"]
    # Nothing after the frontier was read: the plan's last origin predicts up to it.
    plan = episode["plan"]
    assert episode["frontier"] == 140 and max(plan["confirmation"]) + plan["horizon"] <= 140
    promoted = answer["promoted"]
    assert promoted["version"] == 1 and promoted["state"] == "active"
    assert promoted["request"]["sieve"]["skip"] == [0, 1]

    # The promotion's decision ran the champion's search at once: the stream now predicts
    # from it, and the next draws (never seen by selfplay) hit far above K/M = 0.01.
    decisions = json.loads(cli(tmp_path, "decisions", "--stream", "w", "--json").stdout)
    ran = [d for d in decisions["decisions"] if d["action"] == "research"]
    assert ran and ran[0]["status"] == "done", ran
    assert f"selfplay episode {episode['id']}" in ran[0]["rule"]
    # Draw by draw, as `mimicry evaluate --draw` feeds them (in this process: the same calls).
    from mimicry.loop.evaluation import evaluate_stream

    hits = []
    for value in world(30, start=150):
        append("w", [value], "test")
        scored, _ = evaluate_stream("w", 10)
        hits += [s.hit for s in scored]
    assert len(hits) == 30 and sum(hits) >= 15, hits  # chance: 0.3 expected

    shown = json.loads(cli(tmp_path, "champion", "--stream", "w", "--json").stdout)
    assert [c["version"] for c in shown["champions"]] == [1]
    reverted = cli(tmp_path, "champion", "--stream", "w", "--revert", "--note", "test")
    assert reverted.returncode == 0, reverted.stderr
    every = json.loads(cli(tmp_path, "champion", "--stream", "w", "--history", "--json").stdout)
    assert [(c["version"], c["state"]) for c in every["champions"]] == [(1, "reverted")]
    assert "reverted by" in every["champions"][0]["ended_reason"]


def test_an_entropy_stream_is_never_promoted(tmp_path):
    draws = [int.from_bytes(os.urandom(4), "little") % MODULUS for _ in range(150)]
    (tmp_path / "policy.toml").write_text(POLICY)
    first = cli(
        tmp_path,
        "run",
        str(write(tmp_path / "e.txt", draws)),
        "--stream",
        "e",
        *BASE,
        "--no-rank",
        "--json",
    )
    assert first.returncode == 0, first.stderr[-3000:]
    explored = cli(
        tmp_path,
        "selfplay",
        "--stream",
        "e",
        "--episodes",
        "2",
        "--policy",
        "policy.toml",
        "--json",
    )
    assert explored.returncode == 0, explored.stderr[-3000:]
    answer = json.loads(explored.stdout)
    assert answer["promoted"] is None and len(answer["episodes"]) == 2
    assert all(e["verdict"] != "promoted" for e in answer["episodes"])
    # What a person reads of it (the terminal and the UI's table use the same rows).
    from mimicry.render.selfplay import selfplay_line, selfplay_markdown, selfplay_png

    assert "2 episodes on e" in selfplay_line(answer) and "no promotion" in selfplay_line(answer)
    # The header, then a champion row and a candidate row per episode; then each row's
    # configuration as a line of its own (the UI's pane does not wrap a table's cells).
    markdown = selfplay_markdown(answer)
    assert markdown.count("\n| ") == 5 and markdown.count("\n- ") == 4
    assert "configuration" not in markdown.splitlines()[2]
    assert selfplay_png(answer).startswith(b"\x89PNG")


@pytest.fixture(scope="module")
def short_store(tmp_path_factory) -> Path:
    """A store with one stream of 40 draws (too short for a replay) and a bad policy."""
    folder = tmp_path_factory.mktemp("short")
    (folder / "bad.toml").write_text("[selfplay]\nnope = 1\n")
    made = cli(folder, "ingest", str(write(folder / "s.txt", list(range(40)))), "--stream", "s")
    assert made.returncode == 0, made.stderr
    return folder


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["selfplay", "--stream", "nowhere"], "--stream"),
        (["selfplay", "--stream", "s", "--policy", "bad.toml"], "unknown key 'selfplay.nope'"),
        (["selfplay", "--stream", "s", "--episodes", "0"], "--episodes"),
        (["selfplay", "--stream", "s"], "a replay needs"),
        (["champion", "--stream", "s", "--revert"], "no active champion"),
        (["champion", "--stream", "s", "--note", "x"], "--note goes with --revert"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(short_store, args, words):
    refused = cli(short_store, *args)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert words in refused.stderr and "Traceback" not in refused.stderr


def test_champions_in_the_store(store_url):
    append("s", list(range(10)), "test", MODULUS)
    knobs = Candidate(
        families=("glibc_rand",),
        window_trials=8,
        trial_budget=4096,
        scorer_trials=2,
        model_trials=1,
        pool_size=10,
    )
    episode = start_episode("s", 100, {"exploration": [], "confirmation": []}, None)

    def new(state: ChampionState, pool: int) -> NewChampion:
        return NewChampion(
            candidate=knobs.model_copy(update={"pool_size": pool}).model_dump(mode="json"),
            request={},
            evidence={},
            promised_hit_rate=0.7,
            episode_id=episode,
            candidate_id=None,
            state=state,
            live_from=10,
        )

    assert champion("s") is None and tried_since_promotion("s") == 0
    first = add_champion("s", new(ChampionState.ACTIVE, 10))
    second = add_champion("s", new(ChampionState.ACTIVE, 12))
    assert (first.version, second.version) == (1, 2)
    assert champion("s").version == 2
    assert [c.state for c in champion_history("s")] == [
        ChampionState.ACTIVE,
        ChampionState.SUPERSEDED,
    ]
    # Demoted: the one before it is back.
    assert end_champion("s", ChampionState.DEMOTED, "short of its promise").version == 2
    assert champion("s").version == 1
    # A proposed one waits on its decision; rejected, the active one stays.
    proposed = add_champion("s", new(ChampionState.PROPOSED, 14))
    assert champion("s").version == 1
    from mimicry.store.selfplay import link_decision

    assert settle_champion(999, True, "") is None  # no champion waits on decision 999
    from mimicry.store.decisions import NewDecision, save_decision
    from mimicry.store.statuses import DecisionStatus

    decision = save_decision(
        NewDecision(
            stream="s",
            tick_id="t",
            draws=10,
            triggers=[],
            bundle_fingerprint=None,
            advice=None,
            action="research",
            rule="r",
            proposals=[],
            approval={},
            status=DecisionStatus.PENDING_APPROVAL,
            request=None,
            idempotency_key="k",
            expires_at=None,
            outcome=None,
        )
    )
    link_decision(proposed.id, decision.id)
    assert settle_champion(decision.id, True, "").state == ChampionState.ACTIVE
    assert champion("s").version == 3
    # Only candidates the gate tested spend its level: one stopped on the exploration origins
    # (no gate: stored as JSON null, not SQL NULL) does not (seen: the sixth candidate, the
    # first the gate tested, was held to the sixth level and never promoted).
    assert tried_since_promotion("s") == 0
    for verdict, gate in (
        (CandidateVerdict.STOPPED_EARLY, None),
        (CandidateVerdict.NOT_BETTER, {"p_value": 0.5}),
        (CandidateVerdict.STOPPED_EARLY, None),
    ):
        record_candidate(
            episode,
            NewCandidate(
                candidate_key=verdict,
                candidate={},
                source="study",
                exploration={},
                confirmation=None,
                verdict=verdict,
                gate=gate,
                reason="",
                cpu_seconds=0.0,
            ),
        )
    assert tried_since_promotion("s") == 1
    usage = usage_since("s", datetime(2000, 1, 1, tzinfo=UTC))
    assert (usage.episodes, usage.running) == (1, 1)


def test_the_watcher_explores_an_idle_stream_within_its_budget(tmp_path, monkeypatch):
    """With ``episodes_per_day = 1``, a tick that leaves the stream idle runs one episode
    (traced to the tick's decision); the next tick is over the budget and runs none."""
    draws = [int.from_bytes(os.urandom(4), "little") % MODULUS for _ in range(150)]
    (tmp_path / "policy.toml").write_text(
        POLICY.replace("[selfplay]", "[selfplay]\nepisodes_per_day = 1")
    )
    first = cli(
        tmp_path,
        "run",
        str(write(tmp_path / "e.txt", draws)),
        "--stream",
        "e",
        *BASE,
        "--no-rank",
        "--json",
    )
    assert first.returncode == 0, first.stderr[-3000:]
    for _ in range(2):
        tick = cli(tmp_path, "watch", "--once", "--policy", "policy.toml", "--json")
        assert tick.returncode == 0, tick.stderr[-3000:]
    monkeypatch.setenv("MIMICRY_HOME", str(tmp_path / "home"))
    from mimicry.store.selfplay import episodes

    (episode,) = episodes("e")
    decisions = json.loads(cli(tmp_path, "decisions", "--stream", "e", "--json").stdout)
    waits = [d["id"] for d in decisions["decisions"] if d["action"] == "wait"]
    assert episode.decision_id in waits and episode.status == "done"
    assert champion("e") is None


@pytest.mark.parametrize("answer", ["approve", "reject", "expire", "cancel"])
def test_a_promotion_that_waits_for_a_person_is_settled_with_its_decision(home, answer):
    """``promotion_approval = "person"``: the champion is proposed, and whatever ends its
    decision (an approval, a rejection, the timeout, a cancel) settles it the same way."""
    from datetime import timedelta

    from mimicry.store.decisions import NewDecision, save_decision
    from mimicry.store.selfplay import link_decision
    from mimicry.store.statuses import DecisionStatus
    from watcher import lifecycle

    append("s", list(range(10)), "test", MODULUS)
    knobs = Candidate(
        families=("glibc_rand",), window_trials=8, trial_budget=4096, scorer_trials=2,
        model_trials=1, pool_size=10,
    )  # fmt: skip
    now = datetime.now(UTC)
    proposed = add_champion(
        "s",
        NewChampion(
            candidate=knobs.model_dump(mode="json"), request={}, evidence={},
            promised_hit_rate=0.7, episode_id=None, candidate_id=None,
            state=ChampionState.PROPOSED, live_from=10,
        ),
    )  # fmt: skip
    decision = save_decision(
        NewDecision(
            stream="s", tick_id="selfplay-episode-1", draws=10, triggers=[],
            bundle_fingerprint=None, advice=None, action="research", rule="promotion",
            proposals=[], approval={"mode": "person"}, status=DecisionStatus.PENDING_APPROVAL,
            request=None, idempotency_key="selfplay-1-1", expires_at=now + timedelta(minutes=5),
            outcome=None,
        )
    )  # fmt: skip
    link_decision(proposed.id, decision.id)
    assert champion("s") is None  # not before a person says so
    if answer == "approve":
        lifecycle.answer(decision.id, True, "ana", "go", now)
    elif answer == "reject":
        lifecycle.answer(decision.id, False, "ana", "not now", now)
    elif answer == "expire":
        lifecycle.expire_approvals(now + timedelta(minutes=6))
    else:
        lifecycle.cancel(decision.id, "ana", None, now)
    (settled,) = champion_history("s")
    if answer == "approve":
        assert settled.state == ChampionState.ACTIVE and champion("s").version == 1
    else:
        assert settled.state == ChampionState.REJECTED and champion("s") is None
        expected = {"reject": "rejected by ana: not now", "expire": "approval timeout",
                    "cancel": "cancelled by ana"}[answer]  # fmt: skip
        assert expected in settled.ended_reason


def test_a_replay_score_is_kept_once(store_url):
    """Two processes may replay the same origin at once: the second keep finds the first and
    leaves it (the scores agree), on either store."""
    from mimicry.store.selfplay import keep_replay, kept_replay

    append("s", list(range(10)), "test", MODULUS)
    keep_replay("s", "k" * 16, 80, 10, "f" * 16, {"hits": [True]})
    keep_replay("s", "k" * 16, 80, 10, "f" * 16, {"hits": [False]})
    assert kept_replay("s", "k" * 16, 80, 10, "f" * 16) == {"hits": [True]}
    assert kept_replay("s", "k" * 16, 90, 10, "f" * 16) is None
