"""The WATCHER's deterministic core: the policy file, the triggers against their chance baselines,
the acceptance engine's rules and the decision rules (docs/design.md §17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llm.schemas import Action, StreamAdvice
from watcher.acceptance import AppliedChange, Outcome, Proposal, judge_proposals
from watcher.decide import Approval, decide
from watcher.policy import Acceptance, Policy, PolicyError, load_policy
from watcher.triggers import Scored, StreamHealth, TriggerName, fired_triggers

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DEFAULTS = Policy()


def health(hits: list[bool], promised: float = 0.9, signal: bool = True, **fields) -> StreamHealth:
    scored = tuple(
        Scored(position=100 + i, hit=hit, promised=promised, chance=0.01)
        for i, hit in enumerate(hits)
    )
    fields.setdefault("draws", 100 + len(hits))
    return StreamHealth(stream="s", run_id="r", signal=signal, scored=scored, **fields)


def names(state: StreamHealth, policy: Policy = DEFAULTS) -> list[str]:
    return [t.name.value for t in fired_triggers(state, policy)]


# ---------------------------------------------------------------- policy file


def test_a_missing_policy_file_means_the_defaults(tmp_path):
    assert load_policy(tmp_path / "watcher.toml") == Policy()


def test_a_policy_file_is_read(tmp_path):
    path = tmp_path / "watcher.toml"
    path.write_text('alpha = 0.05\n[acceptance]\nwhitelist = ["pool_size"]\nmax_changes = 1\n')
    policy = load_policy(path)
    assert policy.alpha == 0.05 and policy.acceptance.whitelist == ("pool_size",)
    assert policy.acceptance.max_changes == 1 and policy.stale_draws == Policy().stale_draws


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("alpah = 0.05\n", "unknown key 'alpah'"),
        ("[acceptance]\nmax_change = 3\n", "unknown key 'acceptance.max_change'"),
        ("alpha = 2\n", "alpha: Input should be less than 1"),
        ("alpha = \n", "not TOML"),
        ('research_approval = "sometimes"\n', "research_approval: Input should be"),
        ("[acceptance.bounds]\npool_size = [50, 5]\n", "expected low <= high"),
        # Finite bounds for every duration and count; booleans are booleans (issue 21 §11).
        ("approval_timeout_minutes = inf\n", "approval_timeout_minutes: Input should be a finite"),
        ("approval_timeout_minutes = 1e12\n", "approval_timeout_minutes: Input should be less"),
        ("approval_timeout_minutes = 1e300\n", "approval_timeout_minutes: Input should be less"),
        ("[acceptance]\ncooldown_minutes = inf\n", "acceptance.cooldown_minutes: Input should be"),
        ("[acceptance.bounds]\npool_size = [5, inf]\n", "acceptance.bounds.pool_size.1: Input"),
        ("stale_draws = 9223372036854775807\n", "stale_draws: Input should be less than"),
        ('consult_advisor = "yes"\n', "consult_advisor: Input should be a valid boolean"),
        ("consult_advisor = 1\n", "consult_advisor: Input should be a valid boolean"),
    ],
)
def test_a_bad_policy_file_is_one_sentence_naming_the_key(tmp_path, text, sentence):
    path = tmp_path / "watcher.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    assert str(error.value).startswith(f"{path}: ") and sentence in str(error.value)
    assert "\n" not in str(error.value)


# ---------------------------------------------------------------- triggers


def test_one_miss_never_means_anything():
    assert names(health([True] * 20 + [False])) == []
    assert names(health([True] * 5 + [False] * 2, promised=0.5)) == []


def test_a_miss_streak_is_measured_against_the_promise():
    # Under a promise of 0.8 a draw: 0.2^2 = 0.04 is not below alpha 0.01; 0.2^3 = 0.008 is.
    assert "miss_streak" not in names(health([True] * 5 + [False] * 2, promised=0.8))
    fired = fired_triggers(health([True] * 5 + [False] * 3, promised=0.8), Policy())
    streak = next(t for t in fired if t.name == TriggerName.MISS_STREAK)
    assert streak.p_value == pytest.approx(0.2**3) and streak.baseline == pytest.approx(0.8)


def test_a_stream_without_signal_never_collapses_at_chance():
    # Its pools are chance: a long dry spell (0.99^1000 is tiny) says nothing of a generator.
    state = health([False] * 1000, promised=0.01, signal=False, draws_since_search=0)
    assert names(state) == []


def test_a_hit_rate_collapse_is_measured_against_the_promise():
    scattered = health([True, False] * 15)  # 15 of 30 where 0.9 was promised; no streak
    fired = fired_triggers(scattered, Policy())
    # The whole run falls short too (a drift); the shift decides (research), not the drift.
    assert [t.name for t in fired] == [
        TriggerName.HIT_RATE_COLLAPSE,
        TriggerName.REGIME_SHIFT,
        TriggerName.CALIBRATION_DRIFT,
    ]
    assert decision(scattered).rule.startswith("regime shift")
    assert fired[0].p_value < 1e-6 and "15 hits in the last 30" in fired[0].reason
    assert names(health([True, False] * 15, promised=0.5)) == []  # what 0.5 promised


def test_a_collapse_on_a_stream_with_signal_is_a_regime_shift_with_its_change_point():
    state = health([True] * 30 + [False] * 4)
    fired = {t.name: t for t in fired_triggers(state, Policy())}
    assert set(fired) == {TriggerName.MISS_STREAK, TriggerName.REGIME_SHIFT}
    assert fired[TriggerName.REGIME_SHIFT].change_point == 130  # the draw after the last hit
    assert "stopped matching at draw 130" in fired[TriggerName.REGIME_SHIFT].reason


def test_a_chance_hit_after_the_change_does_not_move_the_change_point():
    # Pools of K out of M hit by chance after a re-seed; the estimate stays where matching ended.
    state = health([True] * 30 + [False] * 5 + [True] + [False] * 5)
    shift = next(t for t in fired_triggers(state, Policy()) if t.name == TriggerName.REGIME_SHIFT)
    assert shift.change_point == 130


def test_a_chance_hit_right_after_the_change_makes_the_search_reach_back():
    # Re-seeded at 130: a miss, a chance hit at 131 (a pool of 10 in 1000), then misses. The
    # split after the hit is the likelier (one miss of a 0.9 promise costs less than one chance
    # hit), but the true change is within the support, so the search's offsets reach it.
    state = health([True] * 30 + [False, True] + [False] * 12)
    shift = next(t for t in fired_triggers(state, Policy()) if t.name == TriggerName.REGIME_SHIFT)
    assert (shift.change_point, shift.change_earliest) == (132, 130)
    made = decide(state, fired_triggers(state, Policy()), None, Policy(), False)
    assert (made.action, made.segment_start, made.segment_slack) == (Action.RESEARCH, 132, 2)


def test_the_research_of_an_uncertain_change_sieves_offsets_back_to_it():
    from mimicry.requests import PipelineRequest, SieveSettings
    from watcher.review import current_values, planned_work

    state = health([True] * 30 + [False, True] + [False] * 12)
    made = decide(state, fired_triggers(state, Policy()), None, Policy(), False)
    for offsets, expected in ((None, [0, 2]), ((1, 4), [1, 6])):
        base = PipelineRequest(stream="s", sieve=SieveSettings(offsets=offsets))
        work = planned_work(made, base, current_values(base), None, state, "s")
        assert work["flow"] == "pipeline"
        assert work["request"]["segment_start"] == 132
        assert work["request"]["sieve"]["offsets"] == expected


def test_a_clean_change_has_no_slack_of_its_own():
    state = health([True] * 30 + [False] * 14)
    shift = next(t for t in fired_triggers(state, Policy()) if t.name == TriggerName.REGIME_SHIFT)
    assert (shift.change_point, shift.change_earliest) == (130, 130)


def test_a_chance_hit_on_the_first_new_draw_is_still_reached():
    # Seen in CI: a run promising P(hit) = 1, re-seeded at 130, its pool hit by chance at 130.
    # Nothing tells that hit from a true one: the split is at 131 with no support before it,
    # and the research still reaches back two calls.
    state = health([True] * 31 + [False] * 13, promised=1.0)
    shift = next(t for t in fired_triggers(state, Policy()) if t.name == TriggerName.REGIME_SHIFT)
    assert (shift.change_point, shift.change_earliest) == (131, 131)
    made = decide(state, fired_triggers(state, Policy()), None, Policy(), False)
    assert (made.action, made.segment_start, made.segment_slack) == (Action.RESEARCH, 131, 2)


def test_stale_and_new_data_count_draws():
    assert names(health([True] * 3, draws_since_run=499)) == []
    assert names(health([True] * 3, draws_since_run=500)) == ["stale"]
    assert names(health([], signal=False, draws_since_search=200)) == ["new_data"]
    assert names(health([], signal=True, draws_since_search=200)) == []


# ---------------------------------------------------------------- acceptance engine

CURRENT = {"pool_size": 10.0, "model_trials": 6.0, "window_trials": 24.0, "holdout_fraction": 0.2}


def judge(proposals, history=(), policy=DEFAULTS.acceptance, now=NOW):
    return judge_proposals(
        [Proposal(parameter=p, value=v) for p, v in proposals], CURRENT, history, policy, now
    )


def change(decision, parameter, old, new, minutes_ago=600):
    return AppliedChange(
        decision_id=decision,
        parameter=parameter,
        old_value=old,
        new_value=new,
        applied_at=NOW - timedelta(minutes=minutes_ago),
    )


@pytest.mark.parametrize(
    ("proposal", "rule"),
    [
        (("holdout_fraction", 0.25), "not in the policy's whitelist"),
        (("pool_size", 60), "outside the policy's bounds [5, 50]"),
        (("pool_size", 10), "already 10"),
        (("pool_size", 16), "changes it by 60%, over the policy's 50%"),
    ],
)
def test_the_acceptance_engine_rejects_by_rule(proposal, rule):
    (verdict,) = judge([proposal])
    assert verdict.outcome == Outcome.REJECTED and rule in verdict.rule


def test_bounds_are_the_policys_never_the_advisors():
    # A proposal near the current value passes; one far off is refused however the advisor
    # framed it: the engine reads only the policy's bounds and the store's current value.
    assert judge([("pool_size", 12)])[0].outcome == Outcome.ACCEPTED
    assert judge([("pool_size", 4)])[0].outcome == Outcome.REJECTED


def test_small_changes_apply_larger_ones_wait_for_a_person():
    small, large = judge([("pool_size", 12), ("model_trials", 8)])
    assert small.outcome == Outcome.ACCEPTED
    assert large.outcome == Outcome.NEEDS_APPROVAL  # 33 % > 25 % auto-accept


def test_at_most_max_changes_pass_and_a_parameter_once():
    verdicts = judge([("pool_size", 12), ("pool_size", 11), ("window_trials", 26)])
    assert [v.outcome for v in verdicts] == [Outcome.ACCEPTED, Outcome.REJECTED, Outcome.ACCEPTED]
    assert "proposed twice" in verdicts[1].rule
    one = judge([("pool_size", 12), ("window_trials", 26)], policy=Acceptance(max_changes=1))
    assert one[1].outcome == Outcome.REJECTED and "at most 1 changes" in one[1].rule


def test_a_reversal_of_a_recent_change_is_rejected():
    history = [change(7, "pool_size", 8, 10)]
    (verdict,) = judge([("pool_size", 9)], history)
    assert verdict.outcome == Outcome.REJECTED and "reverses decision 7" in verdict.rule
    assert judge([("pool_size", 11)], history)[0].outcome == Outcome.ACCEPTED
    # Older than the last R deciding decisions: no longer a reversal.
    later = history + [change(d, "model_trials", 6, 6) for d in (8, 9, 10)]
    assert judge([("pool_size", 9)], later)[0].outcome == Outcome.ACCEPTED


def test_a_parameter_in_its_cooldown_is_rejected():
    history = [change(7, "pool_size", 8, 10, minutes_ago=30)]
    (verdict,) = judge([("pool_size", 11)], history)
    assert verdict.outcome == Outcome.REJECTED and "cooldown until 12:30:00" in verdict.rule
    relaxed = Acceptance(cooldown_minutes=20)
    assert judge([("pool_size", 11)], history, relaxed)[0].outcome == Outcome.ACCEPTED


# ---------------------------------------------------------------- decisions

ADVICE = StreamAdvice(
    schema_version="3",
    recommended_action="escalate",
    failure_mode="none",
    retrain_scope="none",
    parameter_proposals=[],
    confidence=0.5,
    evidence=[],
    rationale="look",
)


def decision(state, advice=None, policy=DEFAULTS, bigger=False):
    return decide(state, fired_triggers(state, policy), advice, policy, bigger)


def shifted(**fields) -> StreamHealth:
    """A stream whose run stopped matching at draw 130, 40 draws ago."""
    return health([True] * 30 + [False] * 4, draws=170, **fields)


def test_a_regime_shift_is_searched_again_from_its_change_point():
    made = decision(shifted())
    assert made.action == Action.RESEARCH and made.segment_start == 130
    assert made.approval == Approval.AUTO and "auto_if_no_bigger" in made.approval_rule
    spent = decision(shifted(searches_today=2))
    assert spent.action == Action.ESCALATE and "budget is spent (2 of 2" in spent.rule


def test_a_regime_shift_waits_for_enough_draws_after_it():
    early = decision(health([True] * 30 + [False] * 4))
    assert early.action == Action.WAIT
    assert "regime shift at draw 130; 4 draws after it, a search waits for 12" in early.rule


def test_a_bigger_search_waits_for_a_person():
    made = decision(shifted(), bigger=True)
    assert made.action == Action.RESEARCH and made.approval == Approval.PERSON


def test_a_stale_model_is_retrained_automatically_by_default():
    made = decision(health([True] * 3, draws_since_run=600))
    assert (made.action, made.approval) == (Action.RETRAIN, Approval.AUTO)


def test_the_advisor_may_only_ask_for_a_person_when_the_rules_wait():
    assert decision(health([True] * 3), ADVICE).action == Action.ESCALATE
    # It cannot turn a research into anything else.
    assert decision(shifted(), ADVICE).action == Action.RESEARCH


def every_field_changes_a_decision():
    """For each policy field: the state, and two policies that decide it differently."""
    shift = shifted()
    return {
        "alpha": (health([True] * 5 + [False] * 2, promised=0.8), Policy(alpha=0.05)),
        "collapse_window": (
            health([True] * 30 + [False, True] * 5, promised=0.9),
            Policy(collapse_window=10),
        ),
        "stale_draws": (health([True] * 3, draws_since_run=100), Policy(stale_draws=100)),
        "new_data_draws": (
            health([], signal=False, draws_since_search=50),
            Policy(new_data_draws=50),
        ),
        "research_min_draws": (
            health([True] * 30 + [False] * 4),
            Policy(research_min_draws=4),
        ),
        "searches_per_day": (
            shift.model_copy(update={"searches_today": 2}),
            Policy(searches_per_day=3),
        ),
        "consult_advisor": None,  # read by the tick (tests/test_watcher_loop.py)
        "retrain_approval": (
            health([True] * 3, draws_since_run=600),
            Policy(retrain_approval="person"),
        ),
        "research_approval": (shift, Policy(research_approval="person")),
        "approval_timeout_minutes": None,  # read by the tick
        # Read by the review's skip registry (tests/test_watcher_review.py: each changes a
        # decision's work there).
        "skip_after_critical": None,
        "skip_for_trainings": None,
        "acceptance": None,  # its fields: the acceptance tests above
        "selfplay": None,  # its fields: tests/test_selfplay_rules.py
    }


def test_every_policy_field_changes_a_decision():
    cases = every_field_changes_a_decision()
    assert set(cases) == set(Policy.model_fields)
    for field, case in cases.items():
        if case is None:
            continue
        state, changed = case
        assert decision(state) != decision(state, policy=changed), field


def test_an_unranked_search_is_ranked_once_its_segment_can_hold_draws_out():
    short = health([True] * 5, ranked=False, rankable=False)
    assert decision(short).action == Action.WAIT
    made = decision(health([True] * 5, ranked=False, rankable=True))
    assert made.action == Action.RETRAIN and "enough draws to rank" in made.rule
    # An unranked search without an overwhelming survivor has nothing to rank.
    chance = decision(health([], signal=False, ranked=False, rankable=True))
    assert chance.action == Action.WAIT


def test_a_decision_whose_run_was_not_promoted_is_done_and_says_why():
    from mimicry.store.statuses import DecisionStatus, RunState
    from watcher.lifecycle import run_move

    reason = "not promoted: the mlp model's training health is critical (final fit: diverged)"
    move = run_move("r1", RunState.COMPLETED, None, reason)
    assert move.to == DecisionStatus.DONE and move.outcome == f"run r1 completed; {reason}"
    assert run_move("r1", RunState.COMPLETED, None).outcome == "run r1 completed"
    failed = run_move("r1", RunState.FAILED, "boom", None)
    assert failed.to == DecisionStatus.FAILED and failed.outcome == "run r1 failed: boom"


def test_a_slow_calibration_drift_is_a_trigger_that_retrains():
    # Promised 0.9 a draw, kept at 0.8 for 200 draws: no window of the newest 30 falls short
    # at alpha, no miss streak is unlikely, but the whole run does (anytime-valid P < alpha/10).
    drifting = health([True, True, True, True, False] * 40, promised=0.9)
    fired = {t.name.value: t for t in fired_triggers(drifting, DEFAULTS)}
    assert set(fired) == {"calibration_drift"}
    drift = fired["calibration_drift"]
    assert drift.p_value < 1e-3 and drift.baseline == pytest.approx(0.9)
    assert drift.reason.startswith("160 hits in the run's 200 scored draws where its promises")
    made = decision(drifting)
    assert made.action == Action.RETRAIN and made.rule.startswith("calibration drift")
    # The promise kept, too few draws to judge, or no promise beyond chance: nothing.
    assert "calibration_drift" not in names(health(([True] * 9 + [False]) * 20, promised=0.9))
    assert "calibration_drift" not in names(health([True, False] * 9, promised=0.9))
    assert "calibration_drift" not in names(
        health([True, True, True, True, False] * 40, promised=0.9, signal=False)
    )
    # alpha is the level it is tested at.
    assert "calibration_drift" not in names(drifting, Policy(alpha=1e-12))


def test_the_calibration_picture_holds_each_run_with_signal_to_its_own_promise():
    from mimicry.ranking.health import sequential_calibration_p_values
    from mimicry.store.watch import HealthSeries
    from watcher.picture import calibration_segments, health_png

    # Run a kept its promise of 0.9 for 30 draws; run b (no signal) promised nothing; run c
    # promised 0.9 and hit every other draw.
    hits = [True] * 27 + [False] * 3 + [False] * 10 + [True, False] * 20
    runs = ["a"] * 30 + ["b"] * 10 + ["c"] * 40
    series = HealthSeries(
        stream="s",
        positions=list(range(100, 180)),
        hits=hits,
        promised=[0.95 if r != "b" else 0.01 for r in runs],
        promised_low=[0.9 if r != "b" else 0.01 for r in runs],
        chance=[0.01] * 80,
        run_ids=runs,
        signal=[r != "b" for r in runs],
        runs=[(100, "search"), (130, "search"), (140, "retrain")],
    )
    (kept_positions, kept), (broken_positions, broken) = calibration_segments(series)
    assert kept_positions == list(range(100, 130)) and broken_positions == list(range(140, 180))
    assert kept[-1] > 0.01 > broken[-1]
    assert broken == pytest.approx(
        sequential_calibration_p_values([0.9] * 40, [True, False] * 20).tolist()
    )
    png = health_png(series, 30, 140, alpha=0.01)
    empty = health_png(series.model_copy(update={"signal": [False] * 80}), 30, None, alpha=0.01)
    assert png.startswith(b"\x89PNG") and empty.startswith(b"\x89PNG") and png != empty
