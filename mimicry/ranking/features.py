"""Step 3's features: what a person can check about a hypothesis, measured before a cut.

Every feature is computed from the draws *before* the cut index only (the walk-forward folds, the
validation slice and the test split each have their own cut), has a name, a one-line
definition, and belongs to a versioned schema whose hash travels with every feature table and
every trained model. A label is the hypothesis's hit rate on the draws *from* the cut on.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gpu_kernels.projections import PROJECTIONS
from gpu_kernels.registry import FAMILIES
from mimicry.binomial import at_least
from mimicry.ranking.population import Hypothesis
from mimicry.search.hypothesis import NO_CALL

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Feature:
    name: str
    definition: str
    categorical: bool = False


FEATURES: tuple[Feature, ...] = (
    Feature("window_matches", "window draws the hypothesis matches (from the sieve)"),
    Feature(
        "log_window_chance",
        "-log10 P[Binomial(W, 1/M) >= window matches]: how unlikely the window alone is by chance",
    ),
    Feature("matches_before", "matches among up to `extension_span` draws before the window"),
    Feature(
        "matches_after",
        "matches among up to `extension_span` draws between the window and the cut",
    ),
    Feature(
        "match_rate",
        "matches / compared draws over the whole history before the cut, window excluded",
    ),
    Feature("recent_match_rate", "match rate over the last `recent_span` draws before the cut"),
    Feature("longest_run", "longest run of consecutive matched draws before the cut"),
    Feature("skip_spread", "standard deviation of the window path's gaps (0: constant skip)"),
    Feature("log_first_call", "log2(1 + call index of the window's first draw)"),
    Feature("family", "generator family (registry order)", categorical=True),
    Feature("projection", "projection (registry order)", categorical=True),
    Feature(
        "agreement",
        "share of the other hypotheses that predict the same value for the draw at the cut",
    ),
    Feature(
        "coarse_match_rate",
        "rate at which call and draw agree modulo a coarse divisor of M (about M^(1/3)), "
        "history before the cut, window excluded",
    ),
    Feature(
        "medium_match_rate",
        "the same modulo a medium divisor of M (about M^(2/3))",
    ),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)
_BY_NAME = {f.name: f for f in FEATURES}
_FAMILY_CODES = {name: code for code, name in enumerate(sorted(FAMILIES))}
_PROJECTION_CODES = {name: code for code, name in enumerate(sorted(PROJECTIONS))}


def schema_hash(names: Sequence[str] = FEATURE_NAMES) -> str:
    """Digest of the schema version and the selected features' names and definitions."""
    payload = [
        SCHEMA_VERSION,
        [[n, _BY_NAME[n].definition, _BY_NAME[n].categorical] for n in names],
    ]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:16]


def categorical_columns(names: Sequence[str]) -> list[int]:
    return [i for i, name in enumerate(names) if _BY_NAME[name].categorical]


class ScorerConfig(BaseModel):
    """How Step 3 scores: Step 2.5 tunes it on a validation slice of the training draws."""

    model_config = ConfigDict(frozen=True)

    #: Features the models see.
    features: tuple[str, ...] = FEATURE_NAMES
    #: Draws on each side of the window that matches_before / matches_after count.
    extension_span: int = Field(64, ge=1)
    #: Draws that recent_match_rate covers.
    recent_span: int = Field(100, ge=5)
    #: Keep one of several hypotheses whose tracks agree on every training draw.
    dedup: bool = True
    #: A hypothesis's weight in the distribution is max(score, 0) ** weight_power.
    weight_power: float = Field(1.0, gt=0)
    #: Share of the distribution spread uniformly, so no value is ever impossible.
    uniform_mix: float = Field(0.05, gt=0, lt=1)

    @field_validator("features")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [n for n in value if n not in _BY_NAME]
        if unknown or not value:
            raise ValueError(f"unknown or no features: {unknown}")
        return tuple(n for n in FEATURE_NAMES if n in value)  # schema order

    @property
    def schema_hash(self) -> str:
        return schema_hash(self.features)


def coarse_divisors(modulus: int) -> tuple[int, int]:
    """Two proper divisors of M near M^(1/3) and M^(2/3) (M itself when it is prime)."""
    divisors = [d for d in range(2, modulus) if modulus % d == 0] or [modulus]

    def nearest(target: float) -> int:
        return min(divisors, key=lambda d: (abs(math.log(d) - math.log(target)), d))

    return nearest(modulus ** (1 / 3)), nearest(modulus ** (2 / 3))


def _longest_runs(hits: np.ndarray) -> np.ndarray:
    """Longest run of True in each row."""
    counts = np.cumsum(hits, axis=1)
    at_miss = np.where(hits, 0, counts)
    runs = counts - np.maximum.accumulate(at_miss, axis=1)
    return runs.max(axis=1) if hits.shape[1] else np.zeros(hits.shape[0], dtype=np.int64)


def _rate(hits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    compared = mask.sum(axis=1)
    return np.divide(
        (hits & mask).sum(axis=1), compared, out=np.zeros(len(hits)), where=compared > 0
    )


def feature_matrix(
    population: Sequence[Hypothesis],
    tracks: np.ndarray,
    draws: Sequence[int],
    cut: int,
    config: ScorerConfig,
    modulus: int,
) -> np.ndarray:
    """Rows of ``config.features`` for each hypothesis at ``cut``.

    ``tracks[h, i]`` is hypothesis h's value for history index i, computed without the draws
    from ``cut`` on; only ``draws[:cut]`` is read. Vectorised over hypotheses.
    """
    n = len(population)
    known = np.asarray(draws[:cut])
    rows = tracks[:, :cut]
    exists = rows != NO_CALL
    hits = exists & (rows == known)
    index = np.arange(cut)
    start = np.array([h.job.window_start for h in population])[:, None]
    end = start + np.array([h.job.window_size for h in population])[:, None]
    span = config.extension_span
    compared = exists & ((index < start) | (index >= end))
    before = (index >= start - span) & (index < start)
    after = (index >= end) & (index < np.minimum(cut, end + span))
    recent = exists & (index >= np.maximum(end, cut - config.recent_span))
    coarse, medium = coarse_divisors(modulus)
    at_cut = tracks[:, cut] if tracks.shape[1] > cut else np.full(n, NO_CALL)
    values, counts = np.unique(at_cut[at_cut != NO_CALL], return_counts=True)
    same = dict(zip(values.tolist(), counts.tolist(), strict=True))
    matches = np.array([h.match.matches for h in population])
    sizes = np.array([h.job.window_size for h in population])
    chance = np.array([1 / modulus] * n)
    columns = {
        "window_matches": lambda: matches,
        "log_window_chance": lambda: (
            -np.log10(np.maximum(at_least(matches, sizes, chance), 1e-300))
        ),
        "matches_before": lambda: (hits & before).sum(axis=1),
        "matches_after": lambda: (hits & after).sum(axis=1),
        "match_rate": lambda: _rate(hits, compared),
        "recent_match_rate": lambda: _rate(hits, recent),
        "longest_run": lambda: _longest_runs(hits),
        "skip_spread": lambda: [
            float(np.std(h.match.skip)) if isinstance(h.match.skip, tuple) and h.match.skip else 0.0
            for h in population
        ],
        "log_first_call": lambda: np.log2(1 + np.array([h.match.first_call for h in population])),
        "family": lambda: [_FAMILY_CODES[h.job.family] for h in population],
        "projection": lambda: [_PROJECTION_CODES[h.job.projection] for h in population],
        "agreement": lambda: [
            (same.get(int(v), 1) - 1) / max(1, n - 1) if v != NO_CALL else 0.0 for v in at_cut
        ],
        "coarse_match_rate": lambda: _rate((rows % coarse) == (known % coarse), compared),
        "medium_match_rate": lambda: _rate((rows % medium) == (known % medium), compared),
    }
    table = np.empty((n, len(config.features)), dtype=np.float64)
    for column, name in enumerate(config.features):
        table[:, column] = columns[name]()
    return table


def labels(tracks: np.ndarray, draws: Sequence[int], start: int, stop: int) -> np.ndarray:
    """Each hypothesis's hit rate on ``draws[start:stop]`` (a missing call is a miss)."""
    actual = np.asarray(draws[start:stop])
    if actual.size == 0:
        raise ValueError("labels need at least one draw after the cut")
    return (tracks[:, start:stop] == actual).mean(axis=1)
