"""A stream observed mid-way, at an unknown position: state mode recovers it (docs/design.md §7).

A xorshift32 generator runs a million unobserved steps; then its draws are recorded. Seed mode
cannot reach call 1,000,000 with any sensible offset range, but xorshift32's whole state is 32
bits, so state mode enumerates the state at the first window draw, walks backward with the
inverse step to check the draws before the window, and predicts the draws after the newest one.
"""

from __future__ import annotations

from functools import cache

import pytest

from gpu_kernels.job import Mode, SieveJob
from gpu_kernels.registry import get_family
from mimicry.search.sieve import run_sieve
from tests.history import Stream

FAMILY = get_family("xorshift32")
SEED = 2463534242  # Marsaglia's example seed
UNOBSERVED = 1_000_000
MODULUS = 1000
HISTORY = 40
WINDOW_START = 10  # draws before the window: only the inverse step can check them
WINDOW = 6
PREDICT = 5


@cache
def observed(skip: int) -> tuple[list[int], int, list[int]]:
    """(history, state at the first window draw, the draws after the newest one)."""
    state = FAMILY.seed(SEED)
    for _ in range(UNOBSERVED):
        state, _word = FAMILY.next(state)
    stream = Stream(FAMILY, "mod", MODULUS, state)
    step = skip + 1
    history = [stream[i * step] for i in range(HISTORY)]
    truth = stream.state_before(WINDOW_START * step)
    future = [stream[(HISTORY + j) * step] for j in range(PREDICT)]
    return history, truth, future


def state_job(
    history: list[int], lo: int, hi: int, skip: int, window: int = WINDOW, start: int = WINDOW_START
) -> SieveJob:
    return SieveJob(
        family="xorshift32",
        modulus=MODULUS,
        window=tuple(history[start : start + window]),
        window_start=start,
        mode=Mode.STATE,
        candidate_range=(lo, hi),
        skips=(skip, skip),
    )


def _check_recovered(result, truth: int, future: list[int], window: int) -> None:
    best = result.survivors[0]
    assert best.seed is None and best.state == truth
    assert (best.offset, best.skip, best.matches) == (0, result.job.skips[0], window)
    # Every draw before the window is reached by stepping backward from the found state.
    assert best.matches_before == best.checked_before == WINDOW_START
    after = HISTORY - WINDOW_START - window
    assert best.matches_after == best.checked_after == after
    assert best.next == future
    assert best.p_value < 1e-30
    assert result.stats.significant and result.stats.complete


@pytest.mark.parametrize("skip", [0, 2])
def test_state_mode_recovers_a_stream_a_million_steps_in(skip):
    history, truth, future = observed(skip)
    # 2**24 states, the truth placed off-centre, inside xorshift32's state space 1..2**32-1.
    lo = max(1, truth - 5_000_000)
    hi = lo + (1 << 24) - 1
    assert lo <= truth <= hi <= 2**32 - 1
    result = run_sieve(history, state_job(history, lo, hi, skip), backend="cpu", predict=PREDICT)
    _check_recovered(result, truth, future, WINDOW)
    assert result.stats.candidates_tested == 1 << 24
    assert result.stats.hypotheses == 1 << 24
    assert result.stats.expected_false_survivors == pytest.approx((1 << 24) / MODULUS**WINDOW)
    assert result.stats.survivor_count == 1


def test_reference_backend_agrees_on_the_midstream_window():
    history, truth, future = observed(0)
    job = state_job(history, truth - 1500, truth + 500, 0)
    reference = run_sieve(history, job, backend="reference", predict=PREDICT, top=None)
    cpu = run_sieve(history, job, backend="cpu", predict=PREDICT, top=None)
    assert [s.model_dump() for s in reference.survivors] == [s.model_dump() for s in cpu.survivors]
    _check_recovered(reference, truth, future, WINDOW)


def test_without_draws_before_the_window_nothing_is_checked_backward():
    history, truth, future = observed(0)
    job = state_job(history, truth - 100, truth + 100, 0, start=WINDOW_START)
    moved = state_job(history[WINDOW_START:], truth - 100, truth + 100, 0, start=0)
    best = run_sieve(history, job, backend="reference", predict=PREDICT).survivors[0]
    first = run_sieve(
        history[WINDOW_START:], moved, backend="reference", predict=PREDICT
    ).survivors[0]
    assert best.state == first.state == truth
    assert (first.matches_before, first.checked_before) == (0, 0)
    assert best.matches_before == WINDOW_START
    # The newest draw is the same, so is the prediction.
    assert first.next == best.next == future


def test_seed_mode_cannot_see_a_stream_a_million_calls_in():
    # The true seed is in range, but call 1,000,000 is far beyond any offset searched: seed
    # mode finds nothing significant, which is why state mode exists.
    history, _truth, _future = observed(0)
    job = SieveJob(
        family="xorshift32",
        modulus=MODULUS,
        window=tuple(history[:WINDOW]),
        candidate_range=(SEED - 50, SEED + 50),
        offsets=(0, 300),
    )
    result = run_sieve(history, job, backend="reference")
    assert not result.stats.significant
    assert all(s.seed != SEED or s.p_value > 0.01 for s in result.survivors)


@pytest.mark.slow
def test_full_state_sweep_finds_the_stream_among_chance_survivors():
    # All 2**32 - 1 states with a 3-draw window: about 4.3 chance survivors are expected
    # (docs/design.md §9); the extensions separate the truth from them.
    window = 3
    history, truth, future = observed(0)
    lo, hi = FAMILY.candidate_space("state")
    job = state_job(history, lo, hi, 0, window=window)
    result = run_sieve(history, job, backend="cpu", predict=PREDICT, top=None)
    _check_recovered(result, truth, future, window)
    stats = result.stats
    assert stats.candidates_tested == 2**32 - 1
    assert stats.expected_false_survivors == pytest.approx((2**32 - 1) / MODULUS**window)
    chance = result.survivors[1:]
    # Poisson(4.3): more than 20 chance survivors has probability below 1e-8.
    assert stats.survivor_count == len(result.survivors) == 1 + len(chance) <= 21
    assert all(s.matches == window and s.p_value > 0.5 for s in chance)
