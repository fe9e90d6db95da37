"""Step 3, full scoring: the hypothesis population, its tracks, and feature tables per cut.

``build_population`` reads the sieve's survivors of each job from the coverage ledger and adds
decoys (see :mod:`mimicry.ranking.population`). ``TrackBook`` computes each hypothesis's track once
(constant skip) or per cut (variable skip, whose walk reads the draws before the cut).
``score`` turns a population into feature tables for every cut with the configuration Step 2.5
chose, labels from the draws after each cut.

Only the draws it is given are read: the pipeline passes the training draws to everything here,
never the held-out ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from gpu_kernels.backends import kernel_version
from gpu_kernels.job import SieveJob
from mimicry.ranking.features import ScorerConfig, feature_matrix, labels
from mimicry.ranking.forecast import SpanScore, score_span, weights_from_scores
from mimicry.ranking.population import Hypothesis, Source, decoy_job, merge, sample_evenly
from mimicry.ranking.splits import Cut
from mimicry.settings import sieve_backend
from mimicry.store.ledger import job_chunks

#: Survivors kept for ranking (most window matches first) and decoys added.
MAX_SURVIVORS = 400
DECOYS = 200
#: Candidates of a job's range the decoy sieve may look at.
DECOY_SAMPLE = 1 << 20


def build_population(jobs: Sequence[SieveJob], decoys: int = DECOYS) -> list[Hypothesis]:
    """Every job's survivors (from the ledger) and about ``decoys`` chance decoys in all."""
    survivors, chance = [], []
    per_job = max(1, decoys // max(1, len(jobs)))
    for job in jobs:
        chunks = job_chunks(job.key, kernel_version())
        matches = sorted(
            (m for chunk in chunks for m in chunk.matches),
            key=lambda m: (-m.matches, m.sort_key()),
        )
        survivors += [
            Hypothesis(job=job, match=m, source=Source.SURVIVOR) for m in matches[:MAX_SURVIVORS]
        ]
        relaxed = decoy_job(job, min(DECOY_SAMPLE, job.candidate_count), per_job)
        lo, hi = relaxed.candidate_range
        found = sieve_backend("cpu").sieve_chunk(relaxed, lo, hi + 1).matches
        chance += [
            Hypothesis(job=relaxed, match=m, source=Source.DECOY)
            for m in sample_evenly(found, per_job)
        ]
    return merge(survivors, chance)


class TrackBook:
    """Tracks of a population, ``length`` history indices long, cut by cut."""

    def __init__(self, population: Sequence[Hypothesis], draws: Sequence[int], length: int):
        self.population, self.draws, self.length = list(population), draws, length
        self._fixed = {
            h: np.asarray(hyp.track((), length), dtype=np.int64)
            for h, hyp in enumerate(self.population)
            if isinstance(hyp.match.skip, int)
        }
        self._by_cut: dict[int, np.ndarray] = {}

    def at(self, cut: int) -> np.ndarray:
        """Tracks as known at ``cut``: variable-skip walks read ``draws[:cut]`` only."""
        if cut not in self._by_cut:
            if cut > len(self.draws):
                raise ValueError(f"cut {cut} is beyond the {len(self.draws)} draws given")
            known = self.draws[:cut]
            rows = [
                self._fixed[h]
                if h in self._fixed
                else np.asarray(hyp.track(known, self.length), dtype=np.int64)
                for h, hyp in enumerate(self.population)
            ]
            self._by_cut[cut] = (
                np.vstack(rows) if rows else np.empty((0, self.length), dtype=np.int64)
            )
        return self._by_cut[cut]


def deduplicate(population: Sequence[Hypothesis], book: TrackBook, cut: int) -> list[int]:
    """Indices of the hypotheses to keep: one per distinct track over the draws before ``cut``
    (survivors come first in a population, so a survivor is kept over its decoy twin)."""
    tracks = book.at(cut)[:, :cut]
    seen, keep = set(), []
    for h in range(len(population)):
        signature = tracks[h].tobytes()
        if signature not in seen:
            seen.add(signature)
            keep.append(h)
    return keep


class FeatureTable(BaseModel):
    """Feature rows and labels of one population at one cut."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    cut: Cut
    schema_hash: str
    features: tuple[str, ...]
    rows: list[list[float]]
    labels: list[float]

    @property
    def X(self) -> np.ndarray:
        return np.asarray(self.rows, dtype=np.float64).reshape(len(self.rows), len(self.features))

    @property
    def y(self) -> np.ndarray:
        return np.asarray(self.labels, dtype=np.float64)


def score(
    population: Sequence[Hypothesis],
    book: TrackBook,
    draws: Sequence[int],
    cuts: Sequence[Cut],
    config: ScorerConfig,
    modulus: int,
) -> list[FeatureTable]:
    """Feature tables at each cut; labels from ``draws[cut.index:cut.stop]``."""
    tables = []
    for cut in cuts:
        tracks = book.at(cut.index)
        tables.append(
            FeatureTable(
                cut=cut,
                schema_hash=config.schema_hash,
                features=config.features,
                rows=feature_matrix(population, tracks, draws, cut.index, config, modulus).tolist(),
                labels=labels(tracks, draws, cut.index, cut.stop).tolist(),
            )
        )
    return tables


class ScoredPopulation(BaseModel):
    """Step 3's result: the hypotheses kept (after merging identical tracks) and their tables."""

    population: list[Hypothesis]
    tables: list[FeatureTable]


def score_population(
    population: Sequence[Hypothesis],
    draws: Sequence[int],
    cuts: Sequence[Cut],
    config: ScorerConfig,
    modulus: int,
) -> ScoredPopulation:
    """Step 3 with the configuration Step 2.5 chose: merge hypotheses whose tracks agree on
    every draw before the last cut (when ``config.dedup``), then feature tables at every cut."""
    book = TrackBook(population, draws, cuts[-1].stop)
    keep = (
        deduplicate(population, book, cuts[-1].index)
        if config.dedup
        else list(range(len(population)))
    )
    kept = [population[h] for h in keep]
    kept_book = TrackBook(kept, draws, cuts[-1].stop)
    return ScoredPopulation(
        population=kept, tables=score(kept, kept_book, draws, cuts, config, modulus)
    )


def scored_span(
    scores: np.ndarray,
    tracks: np.ndarray,
    draws: Sequence[int],
    cut: Cut,
    config: ScorerConfig,
    modulus: int,
    pool_size: int,
) -> SpanScore:
    """What the product would have done on ``draws[cut.index:cut.stop]`` with these scores:
    hypotheses weighted by them, a distribution and a pool per draw."""
    weights = weights_from_scores(scores, config.weight_power)
    return score_span(
        tracks, weights, draws, cut.index, cut.stop, modulus, pool_size, config.uniform_mix
    )
