"""Selfplay's pure rules (docs/design.md §21): the gate, the candidate space, the replay plan,
the acceptance of a promotion, the budget and the arbiter. Table-driven, no store."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import optuna
import pytest
from scipy.stats import binomtest

from mimicry.requests import PipelineRequest, SieveSettings
from mimicry.selfplay.candidate import Candidate, ExplorationSpace, suggest, trial_params
from mimicry.selfplay.gate import exact_mcnemar, gate, spent_level
from mimicry.selfplay.replay import (
    HistoryTooShortForReplay,
    OriginScore,
    cannot_catch_up,
    configuration_key,
    replay_plan,
)
from mimicry.store.selfplay import ChampionView, Usage
from mimicry.store.statuses import ChampionState
from watcher.acceptance import Outcome
from watcher.policy import Selfplay
from watcher.selfplay import (
    advised_proposals,
    budget_refusal,
    champion_request,
    demotion,
    idle,
    promotion_verdict,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)

# -- the gate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("only_candidate", "only_champion"), [(0, 0), (5, 0), (7, 3), (3, 7)])
def test_mcnemar_is_the_binomial_tail_over_discordant_draws(only_candidate, only_champion):
    discordant = only_candidate + only_champion
    expected = (
        1.0
        if discordant == 0
        else binomtest(only_candidate, discordant, 0.5, alternative="greater").pvalue
    )
    assert exact_mcnemar(only_candidate, only_champion) == pytest.approx(expected, rel=1e-12)


def test_the_levels_spent_over_every_candidate_sum_to_alpha():
    levels = [spent_level(0.01, k) for k in range(1, 100_001)]
    assert sum(levels) < 0.01 and sum(levels) > 0.01 * 0.9999
    assert levels == sorted(levels, reverse=True)
    with pytest.raises(ValueError):
        spent_level(0.01, 0)


def test_gate_verdicts():
    champion = [False] * 40
    strong = [True] * 30 + [False] * 10
    passed = gate(strong, champion, tried=1, alpha=0.01, min_effect=0.05)
    assert passed.passed and passed.candidate_only == 30 and passed.champion_only == 0
    assert passed.p_value == pytest.approx(0.5**30)
    # The same evidence for the millionth candidate: its level is too small.
    late = gate(strong, champion, tried=10**6, alpha=0.01, min_effect=0.05)
    assert not late.passed and "above its level" in late.reason
    # Significant but under the minimum effect.
    wide = [True] * 12 + [False] * 988
    small = gate(wide, [False] * 1000, tried=1, alpha=0.01, min_effect=0.05)
    assert not small.passed and "under the policy's minimum" in small.reason
    # Equal pools: nothing discordant.
    same = gate(strong, strong, tried=1, alpha=0.01, min_effect=0.0)
    assert not same.passed and same.p_value == 1.0
    assert not gate([], [], 1, 0.01, 0.0).passed
    with pytest.raises(ValueError):
        gate([True], [], 1, 0.01, 0.0)


def test_chance_candidates_are_promoted_at_most_alpha_of_the_time():
    """Under the null (both at chance K/M), over many streams each trying 50 candidates."""
    rng = np.random.default_rng(7)
    streams, promoted = 400, 0
    for _ in range(streams):
        champion = rng.random(40) < 0.1
        for tried in range(1, 51):
            candidate = rng.random(40) < 0.1
            if gate(candidate, champion, tried, alpha=0.05, min_effect=0.0).passed:
                promoted += 1
                break
    assert promoted <= 0.05 * streams, promoted


# -- candidates ---------------------------------------------------------------------------------


BASE = PipelineRequest(
    stream="s", families=("mt19937",), sieve=SieveSettings(seeds=(0, 4095), modulus=1000)
)


def test_a_suggested_candidate_stays_in_its_space_and_runs_on_the_base():
    space = ExplorationSpace(families=("mt19937", "glibc_rand"), max_offset=8, max_skip=2)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3))
    for _ in range(30):
        trial = study.ask()
        candidate = suggest(trial, space)
        assert candidate.outside(space) is None
        request = candidate.applied_to(BASE)
        assert request.sieve.seeds == (0, 4095) and request.stream == "s"
        study.tell(trial, 0.0)


def test_enqueued_params_give_back_the_candidate():
    space = ExplorationSpace(families=("mt19937", "glibc_rand"), max_offset=8, max_skip=2)
    wanted = Candidate(
        families=("glibc_rand",),
        window=8,
        window_start=None,
        min_matches=None,
        offsets=(0, 5),
        skip=(0, 1),
        variable_skip=False,
        window_trials=8,
        trial_budget=4096,
        scorer_trials=4,
        model_trials=2,
        pool_size=10,
    )
    study = optuna.create_study()
    study.enqueue_trial(trial_params(wanted, space))
    assert suggest(study.ask(), space) == wanted


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"families": ("xorshift128",)}, "families xorshift128"),
        ({"window": 99}, "window 99"),
        ({"offsets": (0, 999)}, "offsets 999"),
        ({"skip": (0, 9)}, "skip 9"),
        ({"pool_size": 1000}, "pool_size 1000"),
    ],
)
def test_a_candidate_outside_the_space_says_which_knob(change, words):
    space = ExplorationSpace(families=("mt19937",), max_offset=8, max_skip=2)
    candidate = Candidate.of(BASE).model_copy(update=change)
    assert words in candidate.outside(space)


def test_the_champion_knobs_apply_over_the_last_search():
    knobs = Candidate.of(BASE).model_copy(update={"offsets": (0, 6), "pool_size": 20})
    request = champion_request(BASE, knobs.model_dump(mode="json"))
    assert request.sieve.offsets == (0, 6) and request.ranking.pool_size == 20
    assert champion_request(BASE, None) == BASE
    # Knobs the request cannot take (a pool as large as the modulus) leave it as it is.
    too_big = knobs.model_copy(update={"pool_size": 1000}).model_dump(mode="json")
    assert champion_request(BASE, too_big) == BASE


def test_the_configuration_key_ignores_who_asked_and_unset_ranges():
    pinned = BASE.model_copy(update={"sieve": BASE.sieve.model_copy(update={"offsets": (0, 0)})})
    assert configuration_key(pinned) == configuration_key(BASE)
    assert configuration_key(BASE.model_copy(update={"stream": "t"})) == configuration_key(BASE)
    wider = BASE.sieve.model_copy(update={"offsets": (0, 3)})
    assert configuration_key(BASE.model_copy(update={"sieve": wider})) != configuration_key(BASE)


# -- the replay plan ----------------------------------------------------------------------------


def test_the_plan_never_reads_the_live_draws_and_alternates_its_halves():
    plan = replay_plan(draws=200, live_draws=20, origins=4, horizon=10, min_training=60)
    assert plan.frontier == 180
    every = sorted(plan.exploration + plan.confirmation)
    assert every == [140, 150, 160, 170] and max(every) + plan.horizon == plan.frontier
    assert plan.confirmation == (150, 170) and plan.exploration == (140, 160)


@pytest.mark.parametrize(
    ("draws", "origins", "words"),
    [(80, 4, "needs 60 to train on"), (91, 4, "room for 1 origin"), (200, 1, "at least two")],
)
def test_a_history_too_short_for_the_plan_is_one_sentence(draws, origins, words):
    error = HistoryTooShortForReplay if origins > 1 else ValueError
    with pytest.raises(error, match=words):
        replay_plan(draws, 20, origins, 10, 60)


def test_stopping_early_never_stops_a_candidate_that_could_still_win():
    def origin(hits: int) -> OriginScore:
        return OriginScore(
            origin=0,
            hits=(True,) * hits + (False,) * (10 - hits),
            gains=(0.0,) * 10,
            signal=False,
            cpu_seconds=0.0,
        )

    assert not cannot_catch_up([origin(3)], remaining_draws=10, to_beat=13)
    assert cannot_catch_up([origin(3)], remaining_draws=10, to_beat=14)


# -- acceptance, budget, arbiter ----------------------------------------------------------------


def champion(version: int, state: ChampionState, when: datetime, knobs: Candidate) -> ChampionView:
    return ChampionView(
        id=version,
        stream="s",
        version=version,
        candidate=knobs.model_dump(mode="json"),
        request={},
        evidence={},
        promised_hit_rate=0.8,
        episode_id=None,
        candidate_id=None,
        decision_id=None,
        state=state,
        live_from=100,
        created_at=when,
        ended_at=None,
        ended_reason="its live predictions fell short",
    )


def test_promotion_verdicts():
    policy = Selfplay(space=ExplorationSpace(families=("mt19937",)), cooldown_minutes=60)
    knobs = Candidate.of(BASE)
    other = knobs.model_copy(update={"pool_size": 20})
    old = NOW - timedelta(days=1)
    cases = [
        ([], policy, Outcome.ACCEPTED, "auto"),
        (
            [champion(1, ChampionState.ACTIVE, NOW - timedelta(minutes=5), other)],
            policy,
            Outcome.REJECTED,
            "cooldown",
        ),
        (
            [champion(1, ChampionState.DEMOTED, old, knobs)],
            policy,
            Outcome.REJECTED,
            "champion 1, demoted",
        ),
        (
            [champion(1, ChampionState.DEMOTED, old, knobs)],
            policy.model_copy(update={"reversal_window": 0}),
            Outcome.ACCEPTED,
            "auto",
        ),
        (
            [],
            policy.model_copy(update={"promotion_approval": "person"}),
            Outcome.NEEDS_APPROVAL,
            "person",
        ),
        (
            [],
            policy.model_copy(update={"space": ExplorationSpace(families=("glibc_rand",))}),
            Outcome.REJECTED,
            "not in the policy's space",
        ),
    ]
    for history, rules, outcome, words in cases:
        verdict = promotion_verdict(knobs, history, rules, NOW)
        assert verdict.outcome == outcome and words in verdict.rule, (history, verdict)


@pytest.mark.parametrize(
    ("usage", "scheduled", "policy", "words"),
    [
        (Usage(episodes=0, cpu_seconds=0, running=1), False, Selfplay(), "is running"),
        (Usage(episodes=0, cpu_seconds=0, running=0), True, Selfplay(), "schedules no"),
        (
            Usage(episodes=2, cpu_seconds=0, running=0),
            True,
            Selfplay(episodes_per_day=2),
            "episodes_per_day is 2",
        ),
        (
            Usage(episodes=0, cpu_seconds=90, running=0),
            False,
            Selfplay(cpu_seconds_per_day=60),
            "cpu_seconds_per_day is 60",
        ),
        (Usage(episodes=0, cpu_seconds=0, running=0), False, Selfplay(), None),
        (Usage(episodes=1, cpu_seconds=0, running=0), True, Selfplay(episodes_per_day=2), None),
    ],
)
def test_budget(usage, scheduled, policy, words):
    refusal = budget_refusal(usage, policy, scheduled)
    assert (refusal is None) if words is None else (words in refusal)


def test_the_arbiter_demotes_a_champion_short_of_its_promise_and_keeps_one_that_keeps_it():
    policy = Selfplay(demotion_min_draws=10, demotion_alpha=0.01)
    active = champion(1, ChampionState.ACTIVE, NOW, Candidate.of(BASE))  # promised 0.8
    assert demotion(active, [True] * 5 + [False] * 4, policy) is None  # too few to judge
    rng = np.random.default_rng(1)
    kept = [demotion(active, list(rng.random(200) < 0.8), policy) for _ in range(50)]
    assert sum(k is not None for k in kept) <= 2
    short = demotion(active, [False] * 12, policy)
    assert short is not None and short.hits == 0 and short.p_value < 0.01
    assert "0 of 12" in short.reason
    # The anytime-valid bound: 12 misses at a promise of 0.8.
    assert short.p_value <= math.exp(-1)


def test_idle_and_advised_proposals():
    assert idle([], [], None)
    assert not idle([{"name": "stale"}], [], None)
    assert not idle([], [("run", NOW)], None)
    assert not idle([], [], object())
    advice = {"advice": {"parameter_proposals": [{"parameter": "pool_size", "value": 12}]}}
    assert advised_proposals(advice) == [{"parameter": "pool_size", "value": 12.0}]
    assert advised_proposals(None) == [] and advised_proposals({"advice": {}}) == []


def test_a_candidate_never_asks_more_matches_than_its_window_holds():
    """Seen in the entropy benchmark: a pinned window of 7 with 8 matches, and 15 matches with
    the window left to Step 1 (which falls back on 8), failed their episodes."""
    space = ExplorationSpace(families=("glibc_rand",), window=(4, 8), min_matches=(2, 16))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    for _ in range(200):
        trial = study.ask()
        candidate = suggest(trial, space)
        if candidate.min_matches is not None:  # 8: the window a run falls back on
            assert candidate.min_matches <= (candidate.window or 8)
        study.tell(trial, 0.0)
    with pytest.raises(ValueError, match="above the window size 7"):
        Candidate.model_validate(Candidate.of(BASE).model_dump() | {"window": 7, "min_matches": 8})
