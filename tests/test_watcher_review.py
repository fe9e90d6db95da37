"""The WATCHER's review, pure and table-driven (docs/design.md §17.1): a stream's snapshot,
the advisor's consultation, the policy and the time in, a plan out; no store, no Prefect. Every
rule the integration tests (tests/test_watcher_loop.py, tests/test_loop_faults.py) reach through
a real store is decided here from a snapshot built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gpu_kernels.job import SieveJob, WindowMatch
from llm.advisor import AdviceReport
from llm.schemas import Action, StreamAdvice
from mimicry.requests import PipelineRequest, RankingSettings, SieveSettings
from mimicry.search.results import JobBest
from mimicry.store.decisions import AppliedChange
from mimicry.store.statuses import DecisionStatus
from mimicry.store.watch import OpenDecision, RunFacts, ScoreFacts, StreamSnapshot
from watcher.health import stream_health
from watcher.policy import Policy
from watcher.review import Consultation, review
from watcher.skips import skipped_model_types

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
#: The stream's last search: one family, 4096 seeds, eight Step 1 trials.
SEARCH = PipelineRequest(
    stream="s",
    families=("glibc_rand",),
    sieve=SieveSettings(seeds=(0, 4095)),
    window_trials=8,
    trial_budget=4096,
    ranking=RankingSettings(pool_size=10),
).model_dump(mode="json")
#: A best survivor overwhelming enough to predict alone.
OVERWHELMING = JobBest(
    job=SieveJob(family="glibc_rand", window=(1, 2, 3), candidate_range=(0, 4095)),
    match=WindowMatch(candidate=7, first_call=0, skip=0, matches=3),
    expected_false_survivors=1e-9,
    p_value=1e-12,
)


def run(
    *,
    signal: bool = True,
    ranked: bool = True,
    draws_used: int = 300,
    parameters: dict | None = None,
    jobs_best: tuple = (),
) -> RunFacts:
    return RunFacts(
        id="run-1",
        created_at=NOW - timedelta(hours=1),
        parameters=SEARCH if parameters is None else parameters,
        summary={"signal": "signal" if signal else "no_signal"},
        draws_used=draws_used,
        ranked=ranked,
        jobs_best=list(jobs_best),
    )


def snapshot(
    hits: list[bool] = (),
    *,
    draws: int | None = None,
    completed: tuple[RunFacts, ...] | None = None,
    promised: float = 0.8,
    **fields,
) -> StreamSnapshot:
    """The stream after its run at draw 300 predicted ``hits`` (scored from draw 300 on)."""
    return StreamSnapshot(
        stream="s",
        draws=300 + len(hits) if draws is None else draws,
        completed=list((run(),) if completed is None else completed),
        scored=[
            ScoreFacts(position=300 + i, hit=hit, promised=promised, chance=0.01)
            for i, hit in enumerate(hits)
        ],
        searches_today=fields.pop("searches_today", 0),
        in_progress=fields.pop("in_progress", []),
        applied_changes=fields.pop("applied_changes", []),
        open_run=fields.pop("open_run", None),
        open_escalation=fields.pop("open_escalation", None),
    )


def consulted(action: Action = Action.WAIT, proposals: tuple = ()) -> Consultation:
    advice = StreamAdvice(
        schema_version="3",
        recommended_action=action,
        failure_mode="none",
        retrain_scope="none",
        parameter_proposals=list(proposals),
        confidence=0.5,
        evidence=[],
        rationale="test",
    )
    report = AdviceReport(
        stream="s",
        backend="heuristic",
        model="rules",
        degraded=False,
        failures=[],
        attempts=0,
        latency_s=0.0,
        bundle={},
        advice=advice,
    )
    return Consultation(report=report, fingerprint="f" * 64)


#: A re-seed: 30 hits as promised, then misses from draw 330.
RESEED = [True] * 30 + [False] * 15
QUIET = [True] * 10

#: (case, snapshot, policy, consultation, action, status, words of the rule)
CASES = [
    ("nothing fired", snapshot(QUIET), Policy(), None, "wait", "done", "no trigger fired"),
    (
        "a regime shift with enough draws after it: research on them",
        snapshot(RESEED),
        Policy(research_min_draws=12),
        None,
        "research",
        "approved",
        "regime shift at draw 330",
    ),
    (
        "a regime shift too recent: wait for draws after it",
        snapshot(RESEED),
        Policy(research_min_draws=40),
        None,
        "wait",
        "done",
        "a search waits for 40",
    ),
    (
        "a regime shift with the day's searches spent: a person",
        snapshot(RESEED, searches_today=2),
        Policy(searches_per_day=2),
        None,
        "escalate",
        "pending_approval",
        "search budget is spent (2 of 2",
    ),
    (
        "misses on a stream that promised only chance: nothing fires",
        snapshot([False] * 40, completed=(run(signal=False),), promised=0.5),
        Policy(),
        None,
        "wait",
        "done",
        "no trigger fired",
    ),
    (
        "stale: retrain",
        snapshot(QUIET, draws=900),
        Policy(stale_draws=500),
        None,
        "retrain",
        "approved",
        "stale: the model has not seen the newest draws",
    ),
    (
        "an overwhelming unranked search whose segment can now be ranked: retrain",
        snapshot(
            QUIET,
            draws=400,
            completed=(run(ranked=False, signal=False, jobs_best=(OVERWHELMING,)),),
        ),
        Policy(),
        None,
        "retrain",
        "approved",
        "the segment now holds enough draws to rank its survivors",
    ),
    (
        "new data on a stream without signal: research",
        snapshot(draws=600, completed=(run(signal=False),)),
        Policy(new_data_draws=200),
        None,
        "research",
        "approved",
        "new data on a stream without signal",
    ),
    (
        "new data with the budget spent: wait",
        snapshot(draws=600, completed=(run(signal=False),), searches_today=2),
        Policy(new_data_draws=200, searches_per_day=2),
        None,
        "wait",
        "done",
        "new data, but the search budget is spent",
    ),
    (
        "no rule fired and the advisor asks a person",
        snapshot(QUIET),
        Policy(),
        consulted(Action.ESCALATE),
        "escalate",
        "pending_approval",
        "the advisor asks a person to look",
    ),
    (
        "the advisor cannot make a wait run something",
        snapshot(QUIET),
        Policy(),
        consulted(Action.RESEARCH),
        "wait",
        "done",
        "no trigger fired",
    ),
    (
        "a run in progress: the stream is left alone",
        snapshot(RESEED, in_progress=[("run-2", NOW - timedelta(minutes=5))]),
        Policy(),
        None,
        "wait",
        "done",
        "run run-2 on the stream is in progress (started 2026-12-06 11:55:00 UTC)",
    ),
    (
        "a decision in flight: a new one waits for it",
        snapshot(RESEED, open_run=OpenDecision(id=7, status=DecisionStatus.RUNNING)),
        Policy(),
        None,
        "wait",
        "done",
        "research (regime shift at draw 330) waits: decision 7 is running",
    ),
    (
        "an escalation waiting: another waits for it",
        snapshot(
            RESEED,
            searches_today=2,
            open_escalation=OpenDecision(id=8, status=DecisionStatus.PENDING_APPROVAL),
        ),
        Policy(searches_per_day=2),
        None,
        "wait",
        "done",
        "waits: decision 8 is pending_approval",
    ),
    (
        "stale but never searched (a retrain is all it ran): nothing to retrain",
        snapshot(draws=900, completed=(run(parameters={"kind": "retrain"}),)),
        Policy(stale_draws=500, new_data_draws=10**6),
        None,
        "wait",
        "done",
        "never searched: nothing to retrain",
    ),
    (
        "a search bigger than the last (never searched) under auto_if_no_bigger: a person",
        snapshot(draws=600, completed=()),
        Policy(new_data_draws=200, research_approval="auto_if_no_bigger"),
        None,
        "research",
        "pending_approval",
        "new data on a stream without signal",
    ),
    (
        "research_approval = person",
        snapshot(RESEED),
        Policy(research_approval="person"),
        None,
        "research",
        "pending_approval",
        "regime shift at draw 330",
    ),
    (
        "retrain_approval = person",
        snapshot(QUIET, draws=900),
        Policy(stale_draws=500, retrain_approval="person"),
        None,
        "retrain",
        "pending_approval",
        "stale",
    ),
]


@pytest.mark.parametrize(
    ("state", "policy", "consultation", "action", "status", "rule"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_review_decides_by_rule(state, policy, consultation, action, status, rule):
    plan = review(state, consultation, policy, NOW, "tick-1")
    assert (plan.action.value, plan.status.value) == (action, status), plan.decision.rule
    assert rule in plan.decision.rule
    record = plan.record("tick-1")
    assert record.status == plan.status and record.action == action
    # A person's decision expires after the policy's timeout; nothing else does.
    if status == "pending_approval":
        assert record.expires_at == NOW + timedelta(minutes=policy.approval_timeout_minutes)
    else:
        assert record.expires_at is None
    # What runs is planned only for an action that runs something.
    assert (plan.work is not None) == (action in ("research", "retrain"))


def test_a_research_after_a_shift_searches_the_segment_with_its_slack():
    plan = review(snapshot(RESEED), None, Policy(research_min_draws=12), NOW, "t")
    request = plan.work["request"]
    assert plan.work["flow"] == "pipeline" and request["segment_start"] == 330
    assert request["families"] == ["glibc_rand"] and request["window_trials"] == 8


def test_a_retrain_retrains_the_last_search():
    plan = review(snapshot(QUIET, draws=900), None, Policy(stale_draws=500), NOW, "t")
    assert plan.work["flow"] == "retrain"
    assert plan.work["request"]["search_run_id"] == "run-1"


def test_the_same_snapshot_gives_the_same_key_and_a_wait_is_once_per_tick():
    research = [review(snapshot(RESEED), None, Policy(), NOW, tick) for tick in ("a", "b")]
    assert research[0].idempotency_key == research[1].idempotency_key
    assert research[0].rules_key == research[0].idempotency_key
    waits = [review(snapshot(QUIET), None, Policy(), NOW, tick) for tick in ("a", "b")]
    assert waits[0].idempotency_key != waits[1].idempotency_key
    assert waits[0].rules_key is None
    # Held back by a decision in flight, the rules' key is still the one an earlier tick saved.
    held = review(
        snapshot(RESEED, open_run=OpenDecision(id=1, status=DecisionStatus.PENDING_APPROVAL)),
        None,
        Policy(),
        NOW,
        "c",
    )
    assert held.action == Action.WAIT and held.rules_key == research[0].idempotency_key


@pytest.mark.parametrize(
    ("state", "policy", "wants"),
    [
        (snapshot(QUIET), Policy(), False),  # nothing fired: nothing to ask
        (snapshot(RESEED), Policy(), True),
        (snapshot(RESEED), Policy(consult_advisor=False), False),
        (snapshot(RESEED, in_progress=[("run-2", NOW)]), Policy(), False),
    ],
)
def test_the_advisor_is_asked_only_when_it_has_something_to_say(state, policy, wants):
    assert review(state, None, policy, NOW, "t").wants_advice is wants


def test_proposals_within_the_auto_limit_apply_and_larger_ones_wait_for_a_person():
    small = {"parameter": "pool_size", "value": 12}  # +20 %: within auto_accept (25 %)
    large = {"parameter": "window_trials", "value": 11}  # +37.5 %: needs a person
    plan = review(
        snapshot(RESEED),
        consulted(proposals=(small, large)),
        Policy(research_approval="auto"),
        NOW,
        "t",
    )
    outcomes = {v.parameter: v.outcome.value for v in plan.verdicts}
    # The research is automatic: the large change is not applied, and the record says why.
    assert plan.status == DecisionStatus.APPROVED
    assert "not applied: the action runs without a person" in plan.verdicts[1].rule
    assert outcomes == {"pool_size": "accepted", "window_trials": "rejected"}
    request = plan.work["request"]
    assert request["ranking"]["pool_size"] == 12 and request["window_trials"] == 8
    # Under auto_if_no_bigger (the default) the larger change makes the search bigger than the
    # last: a person is asked, and the change rides on their approval.
    person = review(snapshot(RESEED), consulted(proposals=(small, large)), Policy(), NOW, "t")
    assert person.status == DecisionStatus.PENDING_APPROVAL
    assert {v.parameter: v.outcome.value for v in person.verdicts} == {
        "pool_size": "accepted",
        "window_trials": "needs_approval",
    }
    assert person.work["request"]["window_trials"] == 11


def test_a_recent_change_of_a_parameter_is_not_changed_again_in_its_cooldown():
    change = AppliedChange(
        decision_id=1,
        parameter="pool_size",
        old_value=8,
        new_value=10,
        applied_at=NOW - timedelta(minutes=5),
    )
    plan = review(
        snapshot(RESEED, applied_changes=[change]),
        consulted(proposals=({"parameter": "pool_size", "value": 12},)),
        Policy(),
        NOW,
        "t",
    )
    (verdict,) = plan.verdicts
    assert verdict.outcome.value == "rejected" and "cooldown" in verdict.rule


# -- the skip registry (docs/design.md §20) ---------------------------------------------------


def trained(run_id: str, model_type: str, critical: bool, ranking: dict | None = None) -> RunFacts:
    """A ranked search whose winner was ``model_type``, critical on its final fit or not."""
    parameters = SEARCH if ranking is None else {**SEARCH, "ranking": ranking}
    return RunFacts(
        id=run_id,
        created_at=NOW - timedelta(hours=1),
        parameters=parameters,
        summary={"signal": "signal"},
        draws_used=300,
        ranked=True,
        model_type=model_type,
        not_promoted=f"not promoted: the {model_type} model's training health is critical"
        if critical
        else None,
    )


def stale(*completed: RunFacts) -> StreamSnapshot:
    return snapshot(QUIET, draws=900, completed=completed)


@pytest.mark.parametrize(
    ("newest_first", "policy", "left_out"),
    [
        ([("r2", "mlp", True), ("r1", "xgboost", False)], Policy(), {"mlp"}),
        # Two in a row needed: one critical training is not enough.
        ([("r2", "mlp", True), ("r1", "xgboost", False)], Policy(skip_after_critical=2), set()),
        ([("r3", "mlp", True), ("r2", "mlp", True)], Policy(skip_after_critical=2), {"mlp"}),
        # Left out of three trainings, then back.
        (
            [("r4", "lightgbm", False), ("r3", "xgboost", False), ("r2", "mlp", True)],
            Policy(),
            {"mlp"},
        ),
        (
            [
                ("r5", "catboost", False),
                ("r4", "lightgbm", False),
                ("r3", "xgboost", False),
                ("r2", "mlp", True),
            ],
            Policy(),
            set(),
        ),
        ([("r3", "xgboost", False), ("r2", "mlp", True)], Policy(skip_for_trainings=1), set()),
        ([("r2", "mlp", True)], Policy(skip_after_critical=0), set()),
        ([("r2", "mlp", True), ("r1", "xgboost", True)], Policy(), {"mlp", "xgboost"}),
    ],
)
def test_the_skip_registry_leaves_out_a_type_whose_training_went_wrong(
    newest_first, policy, left_out
):
    runs = [trained(*row) for row in newest_first]
    assert set(skipped_model_types(runs, policy)) == left_out


def test_a_retrain_after_a_critical_training_leaves_that_type_out_and_says_why():
    state = stale(trained("r2", "mlp", True), trained("r1", "xgboost", False))
    plan = review(state, None, Policy(stale_draws=500), NOW, "t")
    assert plan.action == "retrain"
    assert plan.work["request"]["ranking"]["model_types"] == ["xgboost", "lightgbm", "catboost"]
    assert (
        "mlp left out of 3 trainings: its final fit was critical in 1 training"
        in plan.decision.rule
    )
    # It retrains the newest search: its sieve is sound, only its model was not promoted.
    assert plan.work["request"]["search_run_id"] == "r2"
    # With the registry off, every type trains again.
    for off in (
        Policy(stale_draws=500, skip_after_critical=0),
        Policy(stale_draws=500, skip_for_trainings=0),
    ):
        plan = review(stale(trained("r2", "mlp", True)), None, off, NOW, "t")
        assert len(plan.work["request"]["ranking"]["model_types"]) == 4


def test_a_training_with_every_type_left_out_asks_a_person():
    only_mlp = RankingSettings(model_types=("mlp",)).model_dump(mode="json")
    state = stale(trained("r2", "mlp", True, only_mlp), trained("r1", "mlp", False, only_mlp))
    plan = review(state, None, Policy(stale_draws=500), NOW, "t")
    assert plan.action == "escalate" and plan.work is None
    assert plan.decision.rule.startswith("retrain (stale: the model has not seen the newest draws")
    assert "has no model type to train: mlp left out of 3 trainings" in plan.decision.rule


def test_a_stream_whose_newest_model_was_not_promoted_is_judged_by_the_one_before():
    health = stream_health(stale(trained("r2", "mlp", True), trained("r1", "xgboost", False)))
    assert health.run_id == "r1"
