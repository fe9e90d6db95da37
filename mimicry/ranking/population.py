"""The hypotheses Steps 3–6 rank: the sieve's survivors and chance decoys, with their tracks.

A ranking needs contrast. The sieve's survivors are usually a handful (often only the truth), so
the population adds *decoys*: hypotheses that match the same window only partly, found by the
same sieve with a relaxed threshold over a sample of the candidate range. Decoys are what chance
survivors look like; a model that learns to tell them from the truth has learned something about
the draws, and with no generator behind the draws the two are indistinguishable, which is what
the permutation null then shows.

A hypothesis's *track* is the draw it assigns to each history index
(``mimicry.search.hypothesis.track``): features, labels and predictions are all read off tracks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from gpu_kernels.calls import Calls
from gpu_kernels.job import SieveJob, WindowMatch
from mimicry.search.hypothesis import track


class Source(StrEnum):
    SURVIVOR = "survivor"
    DECOY = "decoy"


class Hypothesis(BaseModel):
    """One (family, projection, seed or state, offset, skip) with the window it was found on."""

    model_config = ConfigDict(frozen=True)

    job: SieveJob
    match: WindowMatch
    source: Source

    @property
    def key(self) -> tuple:
        """The hypothesis itself, whatever search found it (a decoy's job differs from its
        survivor twin's only in threshold and candidate range)."""
        job = self.job
        return (
            job.family,
            job.projection,
            job.modulus,
            job.mode,
            job.window_start,
            job.window,
            job.variable_skip,
            job.skips,
            *self.match.sort_key(),
        )

    def label(self) -> str:
        job, match = self.job, self.match
        if job.mode == "state":
            return f"{job.family} state {match.candidate} skip {match.skip}"
        if isinstance(match.skip, int):
            where = f"offset {job.stream_offset(match.first_call, match.skip)}"
        else:  # the offset of a variable skip depends on the walk back to the first draw
            where = f"window at call {match.first_call}"
        return f"{job.family} seed {match.candidate} {where} skip {match.skip}"

    def track(self, known: Sequence[int], length: int) -> list[int]:
        return track(
            self.job, self.match, Calls.for_candidate(self.job, self.match.candidate), known, length
        )


def relaxed_threshold(job: SieveJob, sample: int, target: int) -> tuple[int, int]:
    """(min_matches, candidates to sieve) for about ``2 · target`` chance window matches."""
    from mimicry.search.statistics import chance_per_hypothesis

    per_candidate = job.hypotheses_per_candidate
    size = job.window_size
    for matches in range(size - 1, 0, -1):
        chance = chance_per_hypothesis(size, matches, job.modulus, job.skip_choices)
        expected_per_candidate = per_candidate * chance
        if sample * expected_per_candidate >= target:
            needed = math.ceil(2 * target / expected_per_candidate)
            return matches, min(sample, max(needed, 1))
    return 1, sample


def decoy_job(job: SieveJob, sample: int, target: int) -> SieveJob:
    """The job's window and hypothesis space, a relaxed threshold, a slice of its candidates."""
    min_matches, candidates = relaxed_threshold(job, sample, target)
    lo, hi = job.candidate_range
    last = min(hi, lo + candidates - 1)
    update: dict = {"candidate_range": (lo, last), "min_matches": min_matches}
    if job.variable_skip:
        update["max_misses"] = job.window_size - min_matches
    return job.model_copy(update=update)


def sample_evenly(items: Sequence, count: int) -> list:
    """``count`` items spread evenly over ``items`` (deterministic)."""
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def merge(survivors: Iterable[Hypothesis], decoys: Iterable[Hypothesis]) -> list[Hypothesis]:
    """Survivors first, then decoys that are not also survivors; canonical order within each."""
    chosen = {h.key: h for h in survivors}
    out = sorted(chosen.values(), key=lambda h: h.key)
    for decoy in sorted(decoys, key=lambda h: h.key):
        if decoy.key not in chosen:
            chosen[decoy.key] = decoy
            out.append(decoy)
    return out
