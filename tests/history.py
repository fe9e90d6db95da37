"""Draw histories with a known truth, made straight from a family's reference twin.

Call indices count calls (projected draws), as the sieve does (docs/design.md §7). A :class:`Stream`
draws calls one by one with the family's ``next`` and the projection's ``accepts``/``value``
(not with :class:`mimicry.search.hypothesis.Calls`, the code under test), and remembers the family
state right before each call: that is what state mode enumerates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gpu_kernels.family import Family, State
from gpu_kernels.job import SieveJob, WindowMatch
from gpu_kernels.projections import Projection
from gpu_kernels.registry import get_family, get_projection
from mimicry.ranking.population import Hypothesis, Source


class Stream:
    """The calls of one generator run, computed lazily: ``stream[j]`` is call ``c_j``."""

    def __init__(
        self, family: str | Family, projection: str | Projection, modulus: int, state: State
    ) -> None:
        self.family = get_family(family) if isinstance(family, str) else family
        self.projection = (
            get_projection(projection) if isinstance(projection, str) else (projection)
        )
        self.modulus = modulus
        self._state = state
        self._values: list[int] = []
        self._states: list[State] = []

    @classmethod
    def seeded(cls, family: str, projection: str, modulus: int, seed: int) -> Stream:
        """The stream of a freshly seeded generator (seed mode: call 0 is the first call)."""
        fam = get_family(family)
        return cls(fam, projection, modulus, fam.seed(seed))

    def _extend(self, position: int) -> None:
        bits = self.family.word_bits
        per_attempt = self.projection.words_per_attempt
        while len(self._values) <= position:
            self._states.append(self._state)
            while True:
                words = []
                for _ in range(per_attempt):
                    self._state, word = self.family.next(self._state)
                    words.append(word)
                attempt = tuple(words)
                if self.projection.accepts(attempt, self.modulus, bits):
                    self._values.append(self.projection.value(attempt, self.modulus, bits))
                    break

    def __getitem__(self, position: int) -> int:
        if position < 0:
            raise IndexError(position)
        self._extend(position)
        return self._values[position]

    def state_before(self, position: int) -> State:
        """The family state right before call ``position`` (what state mode calls the state)."""
        self._extend(position)
        return self._states[position]

    def at(self, positions: Sequence[int]) -> list[int]:
        return [self[p] for p in positions]


def constant_positions(offset: int, skip: int, count: int) -> list[int]:
    """Call indices of ``count`` draws from ``offset``, ``skip`` calls dropped between each."""
    return [offset + i * (skip + 1) for i in range(count)]


def variable_positions(offset: int, gaps: Sequence[int]) -> list[int]:
    """Call indices of draws starting at ``offset``, ``gaps[i]`` calls dropped before draw i+1."""
    positions = [offset]
    for gap in gaps:
        positions.append(positions[-1] + 1 + gap)
    return positions


def make_history(
    family: str, projection: str, modulus: int, seed: int, positions: Sequence[int]
) -> list[int]:
    """The draws a seeded generator makes at the given call positions."""
    return Stream.seeded(family, projection, modulus, seed).at(positions)


def seeded_history(
    family: str,
    seed: int,
    count: int,
    *,
    projection: str = "mod",
    modulus: int = 1000,
    offset: int = 0,
    skip: int = 0,
) -> list[int]:
    """``count`` draws of a seeded generator: call ``offset``, then every ``skip + 1``-th call."""
    return make_history(family, projection, modulus, seed, constant_positions(offset, skip, count))


def write_draws(path: Path, values: Sequence[int]) -> str:
    """A plain-text draw file, one value a line; its path as the CLI and the flows take it."""
    path.write_text("".join(f"{v}\n" for v in values))
    return str(path)


def truth_and_decoys(
    history, truth_seed, decoy_seeds, window=8, family="mt19937"
) -> list[Hypothesis]:
    """A ranking population: the truth (index 0, its window at the first draw, every window draw
    matched) and a decoy per seed of ``decoy_seeds`` (one match each), all on one job."""
    job = SieveJob(family=family, window=tuple(history[:window]), candidate_range=(0, 10**6))
    truth = Hypothesis(
        job=job,
        match=WindowMatch(candidate=truth_seed, first_call=0, skip=0, matches=window),
        source=Source.SURVIVOR,
    )
    decoys = [
        Hypothesis(
            job=job,
            match=WindowMatch(candidate=s, first_call=0, skip=0, matches=1),
            source=Source.DECOY,
        )
        for s in decoy_seeds
    ]
    return [truth, *decoys]
