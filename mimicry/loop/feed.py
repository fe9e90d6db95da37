"""A synthetic feed: draws from a registry generator appended to a stream, a few at a time, with
optional re-seed events at given positions (docs/design.md §17), for tests, soaks and demos.

The truth (family, seeds, where each is re-seeded) lives only in the feed's own JSON file: the
store sees plain draws from an ingest whose source is ``feed`` (never the seed, in a draw row, a
feature, a bundle or a decision). The file also keeps the next position, so a feed resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gpu_kernels.registry import get_family, get_projection
from mimicry.store.streams import append, drawn
from mimicry.whole_files import written_whole


class FeedError(ValueError):
    """A feed file or a feed's settings that cannot be used; ``str()`` is one sentence."""


class Reseed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: Stream position of the first draw of the new seed's run.
    position: int = Field(ge=0)
    seed: int = Field(ge=0)


class FeedSpec(BaseModel):
    """A feed's truth and where it is."""

    model_config = ConfigDict(extra="forbid")
    stream: str
    family: str
    projection: str = "mod"
    modulus: int = Field(1000, ge=2)
    #: The seeds, each from its position on; the first at position 0.
    seeds: list[Reseed]
    #: The position of the next draw to append.
    next_position: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _seeds_in_order(self) -> FeedSpec:
        positions = [r.position for r in self.seeds]
        if not positions or positions[0] != 0 or positions != sorted(set(positions)):
            raise ValueError("seeds: the first at position 0, then increasing positions")
        try:
            family = get_family(self.family)
            get_projection(self.projection)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
        first, last = family.candidate_space("seed")
        for reseed in self.seeds:
            if not first <= reseed.seed <= last:
                raise ValueError(f"seed {reseed.seed} is outside {family.name}'s {first}..{last}")
        return self


def draws_of(spec: FeedSpec, start: int, count: int) -> list[int]:
    """The feed's draws at positions ``start .. start + count - 1``."""
    family, projection = get_family(spec.family), get_projection(spec.projection)
    values = []
    for index, reseed in enumerate(spec.seeds):
        end = spec.seeds[index + 1].position if index + 1 < len(spec.seeds) else None
        lo, hi = (
            max(start, reseed.position),
            start + count if end is None else min(end, start + count),
        )
        if lo >= hi:
            continue
        words = family.words(family.seed(reseed.seed))
        for position in range(reseed.position, hi):
            value = projection.draw(words, spec.modulus, family.word_bits)
            if position >= lo:
                values.append(value)
    return values


def load_feed(path: Path) -> FeedSpec:
    try:
        return FeedSpec.model_validate_json(path.read_text())
    except OSError as error:
        raise FeedError(f"{path}: cannot be read ({error.strerror or error})") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise FeedError(f"{path}: {where}: {first['msg']}") from None


def save_feed(path: Path, spec: FeedSpec) -> None:
    """Written whole (a temporary file renamed over it): a crash leaves the old file."""
    with written_whole(path) as file:
        json.dump(spec.model_dump(mode="json"), file, indent=2)


def feed(path: Path, count: int) -> list[int]:
    """Append the feed's next ``count`` draws to its stream; the draws appended."""
    spec = load_feed(path)
    values = draws_of(spec, spec.next_position, count)
    held = drawn(spec.stream)
    if held != spec.next_position:
        raise FeedError(
            f"{path}: the feed is at draw {spec.next_position} but stream {spec.stream!r} "
            f"holds {held} draws"
        )
    append(spec.stream, values, "feed", modulus=spec.modulus)
    save_feed(path, spec.model_copy(update={"next_position": spec.next_position + count}))
    return values
