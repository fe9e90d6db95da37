"""The typed answers of a search: what ``mimicry sieve`` and ``mimicry run`` say, in one model each.

``--json`` dumps these models, the terminal tables and the Prefect artifacts render them
(:mod:`mimicry.render`), so the three cannot say different things about the same numbers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, computed_field

from gpu_kernels.job import SieveJob
from mimicry.ranking.next_draw import NextDraw
from mimicry.search.results import SieveResult, SieveStats, Survivor


class FamilySummary(BaseModel):
    """One family's search within a run."""

    family: str
    candidates_tested: int
    hypotheses: int
    expected_false_survivors: float
    survivor_count: int
    #: Search-wide p-value of the family's best survivor (None: no survivor).
    best_p_value: float | None
    complete: bool


class SearchStats(BaseModel):
    """The statistics of every family's search together."""

    candidates_tested: int
    hypotheses: int
    seconds: float
    candidates_per_second: float
    expected_false_survivors: float
    survivor_count: int
    significant: bool
    complete: bool
    #: Per family, the inclusive candidate ranges no chunk covered.
    missing_ranges: dict[str, list[tuple[int, int]]] = Field(default_factory=dict)
    #: Families whose survivor buffer overflowed (survivors were dropped).
    overflowed: list[str] = Field(default_factory=list)


class SpanSummary(BaseModel):
    """Pools on a run of held-out or validation draws beside chance (a ``SpanReport`` with the
    numbers derived from it)."""

    draws: int
    hits: int
    pool_size: int
    modulus: int
    gain_per_draw: float
    chance: float
    hit_rate: float
    #: One-sided binomial test of the hits against the chance rate K/M.
    p_value: float

    @classmethod
    def of(cls, report) -> SpanSummary:
        return cls(
            **report.model_dump(),
            chance=report.chance,
            hit_rate=report.hit_rate,
            p_value=report.p_value,
        )


class ModelTypeSummary(BaseModel):
    model_type: str
    validation_gain: float
    fold_spread: float
    gap: float
    trials: int
    #: Where the type's best model was registered (the winner always; the others with
    #: ``save_all_models``), its worst health finding and its one look at the held-out draws.
    model_id: int | None = None
    health: str | None = None
    test: SpanSummary | None = None


class ModelSummary(BaseModel):
    """Steps 4–5: which model type won walk-forward validation, and what the test said."""

    winner: str
    params: dict[str, Any]
    types: list[ModelTypeSummary]
    signal_reason: str
    null_p_value: float
    validation: SpanSummary
    test: SpanSummary
    #: The worst training-health finding over the winner's fits: "ok", "warning" or "critical"
    #: (``mimicry health --run`` says what was found; docs/design.md §20).
    health: str = "ok"


class RankedHypothesis(BaseModel):
    hypothesis: str
    source: str
    score: float


class SieveAnswer(BaseModel):
    """``mimicry sieve``: one family's search."""

    job: SieveJob
    survivors: list[Survivor]
    stats: SieveStats

    @computed_field
    @property
    def verdict(self) -> str:
        from mimicry.render import verdict

        stats, family = self.stats, self.job.family
        missing = {family: stats.missing_ranges} if stats.missing_ranges else {}
        best = self.survivors[0] if self.survivors else None
        return verdict(stats, best, missing, [family] if stats.overflow else [])


class SieveAnswers(BaseModel):
    """``mimicry sieve`` with ``--family`` given more than once: each family's search, in the
    order named, each as if it had run alone (its own hypotheses, p-values and verdict), and
    what searching them together costs the best of them."""

    answers: list[SieveAnswer]

    @property
    def best(self) -> Survivor | None:
        """The best survivor of every family (:func:`rank_survivors`' order)."""
        firsts = [answer.survivors[0] for answer in self.answers if answer.survivors]
        return next(iter(rank_survivors(firsts, top=1)), None)

    @computed_field
    @property
    def best_p_value_across_families(self) -> float | None:
        """The best survivor's p-value among the hypotheses of every family searched: each
        family's own p-value prices only its own (docs/design.md §9)."""
        best = self.best
        if best is None:
            return None
        from mimicry.search.statistics import across_jobs_p_value

        return across_jobs_p_value([answer.job for answer in self.answers], best)

    @computed_field
    @property
    def verdict(self) -> str:
        from mimicry.render import families_verdict

        return families_verdict(self)


class RunAnswer(BaseModel):
    """``mimicry run`` and the ``pipeline`` / ``sieve`` flows: every family's search, and the
    ranking's part when the run ranks."""

    run_id: str
    jobs: list[SieveJob]
    families: list[FamilySummary]
    #: The best survivors of all families, best first; ``next`` continues past the newest draw.
    survivors: list[Survivor]
    stats: SearchStats
    #: Step 1's choice per family (what it searched and why).
    window_choices: dict[str, Any] = Field(default_factory=dict)
    #: The ranking's part (Steps 2.5–6), when the run ranks.
    signal: str | None = None
    model: ModelSummary | None = None
    ranking: list[RankedHypothesis] | None = None
    #: The next draw's pool (its full distribution is in the store, not the answer).
    prediction: NextDraw | None = None
    #: Why the run's model does not predict for the stream (its training health is critical;
    #: the stream keeps its earlier model and predictions); None: promoted (docs/design.md §20).
    not_promoted: str | None = None
    #: Seconds per step.
    timings: dict[str, float] = Field(default_factory=dict)

    @computed_field
    @property
    def job(self) -> SieveJob | None:
        """The job, when the run searched one family."""
        return self.jobs[0] if len(self.jobs) == 1 else None

    @computed_field
    @property
    def verdict(self) -> str:
        from mimicry.render import verdict

        best = self.survivors[0] if self.survivors else None
        return verdict(self.stats, best, self.stats.missing_ranges, self.stats.overflowed)


def rank_survivors(survivors: list[Survivor], top: int | None = None) -> list[Survivor]:
    """Best first: most evidence, then the smallest p-value."""
    ranked = sorted(survivors, key=lambda s: (-s.evidence, s.p_value))
    return ranked if top is None else ranked[:top]


def run_answer(
    run_id: str, results: list[SieveResult], top: int, window_choices: dict[str, Any]
) -> RunAnswer:
    """The answer of a run's searches (each result's survivors already continue past the
    stream's newest draw, as stored)."""
    seconds = sum(r.stats.seconds for r in results)
    tested = sum(r.stats.candidates_tested for r in results)
    stats = SearchStats(
        candidates_tested=tested,
        hypotheses=sum(r.stats.hypotheses for r in results),
        seconds=seconds,
        candidates_per_second=tested / seconds if seconds > 0 else 0.0,
        expected_false_survivors=sum(r.stats.expected_false_survivors for r in results),
        survivor_count=sum(r.stats.survivor_count for r in results),
        significant=any(r.stats.significant for r in results),
        complete=all(r.stats.complete for r in results),
        missing_ranges={
            r.job.family: r.stats.missing_ranges for r in results if r.stats.missing_ranges
        },
        overflowed=[r.job.family for r in results if r.stats.overflow],
    )
    families = [
        FamilySummary(
            family=r.job.family,
            candidates_tested=r.stats.candidates_tested,
            hypotheses=r.stats.hypotheses,
            expected_false_survivors=r.stats.expected_false_survivors,
            survivor_count=r.stats.survivor_count,
            best_p_value=r.survivors[0].p_value if r.survivors else None,
            complete=r.stats.complete,
        )
        for r in results
    ]
    return RunAnswer(
        run_id=run_id,
        jobs=[r.job for r in results],
        families=families,
        survivors=rank_survivors([s for r in results for s in r.survivors], top),
        stats=stats,
        window_choices=window_choices,
    )
