"""Time-ordered splits of a stream: the held-out draws, and walk-forward folds before them.

*Held out*: the newest H draws, ``H = max(holdout_min, ceil(holdout_fraction · N))``. Steps 1–4
(window, sieve, scorer meta-optimisation, scoring, model selection) receive only the training
draws; the held-out draws are read by Step 5 for the one evaluation on the untouched test split,
whose result also calibrates Step 6. A history too short to leave a useful training part is
refused.

*Walk-forward folds* (scikit-learn's splitter idea, over time): cut points ``c_1 < … < c_F`` in
the training draws, each with a label span ``[c_k, c_k + L)`` that ends before the next cut. A
fold trains on the cuts before ``c_k`` and validates on ``c_k``; features at a cut read only the
draws before it. Nothing is ever split at random.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Fewest training draws the later steps can work with: a window, draws after it for the
#: bidirectional check, and walk-forward folds.
MIN_TRAINING_DRAWS = 40


class HistoryTooShort(ValueError):
    """Not enough draws to hold some out and still train; ``str()`` says how many are needed."""


@dataclass(frozen=True)
class Split:
    training: tuple[int, ...]
    held_out: tuple[int, ...]

    @property
    def cut(self) -> int:
        """History index of the first held-out draw."""
        return len(self.training)


class SegmentOutOfRange(ValueError):
    """A segment start at or past the stream's newest draw."""


def segment_of(draws: Sequence[int], start: int) -> Sequence[int]:
    """The draws a run searches: the stream's from ``start`` on (0, or a change point)."""
    if start and start >= len(draws):
        raise SegmentOutOfRange(
            f"segment_start {start} is at or past the stream's {len(draws)} draws"
        )
    return draws[start:] if start else draws


def held_out_count(total: int, fraction: float, minimum: int) -> int:
    return max(minimum, math.ceil(fraction * total))


def split_history(draws: Sequence[int], fraction: float = 0.1, minimum: int = 20) -> Split:
    """Training draws (oldest) and held-out draws (newest)."""
    held = held_out_count(len(draws), fraction, minimum)
    if len(draws) - held < MIN_TRAINING_DRAWS:
        needed = MIN_TRAINING_DRAWS + held_out_count(MIN_TRAINING_DRAWS + held, fraction, minimum)
        raise HistoryTooShort(
            f"the stream has {len(draws)} draws; holding out the newest {held} leaves "
            f"{len(draws) - held} to train on, fewer than {MIN_TRAINING_DRAWS}: it needs at "
            f"least {needed} draws"
        )
    return Split(training=tuple(draws[:-held]), held_out=tuple(draws[-held:]))


@dataclass(frozen=True)
class Cut:
    """Features read draws ``[0, index)``; labels are hit rates on ``[index, stop)``."""

    index: int
    stop: int


@dataclass(frozen=True)
class Fold:
    train: tuple[Cut, ...]
    valid: Cut


def walk_forward_cuts(training: int, earliest: int, count: int, span: int) -> list[Cut]:
    """``count`` cuts with label spans of ``span`` draws, the last ending at ``training``.

    ``earliest`` is the first index a cut may sit at (after every window the hypotheses were
    found on, so no feature reads a window draw after its cut). Fewer cuts, or shorter spans,
    when the training draws are too few.
    """
    if earliest >= training:
        raise HistoryTooShort(
            f"the windows end at draw {earliest}, leaving no training draws for labels"
        )
    span = max(1, min(span, (training - earliest) // max(1, count)))
    cuts = []
    stop = training
    while len(cuts) < count and stop - span >= earliest:
        cuts.append(Cut(stop - span, stop))
        stop -= span
    return cuts[::-1]


def walk_forward_folds(cuts: list[Cut], min_train: int = 1) -> list[Fold]:
    """Each cut from the ``min_train``-th on validates a model trained on the cuts before it."""
    return [Fold(tuple(cuts[:k]), cuts[k]) for k in range(min_train, len(cuts))]
