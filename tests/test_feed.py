"""The synthetic feed (issue 12 §3): glibc's own rand() through ctypes is the truth it must
reproduce, re-seeds included; the truth stays in the feed's file, never in the store."""

from __future__ import annotations

import ctypes

import pytest
from sqlalchemy import text

from llm.bundle import stream_bundle
from mimicry.loop.feed import FeedError, FeedSpec, Reseed, draws_of, feed, load_feed, save_feed
from mimicry.store.database import connect
from mimicry.store.streams import append_draws, require_stream, stored_values

LIBC = ctypes.CDLL("libc.so.6")
LIBC.srand.argtypes = [ctypes.c_uint]


def glibc(seed: int, count: int) -> list[int]:
    LIBC.srand(seed)
    return [LIBC.rand() % 1000 for _ in range(count)]


SEEDS = (2_716_057_391, 3_141_592_653)  # ten digits: they cannot be a draw, a count or a rank


def spec(stream: str = "s") -> FeedSpec:
    return FeedSpec(
        stream=stream,
        family="glibc_rand",
        seeds=[Reseed(position=0, seed=SEEDS[0]), Reseed(position=7, seed=SEEDS[1])],
    )


def test_the_feed_is_glibc_rand_reseeded_where_it_says():
    expected = glibc(SEEDS[0], 7) + glibc(SEEDS[1], 8)
    assert draws_of(spec(), 0, 15) == expected
    assert draws_of(spec(), 5, 6) == expected[5:11]


def test_the_truth_stays_in_the_feed_file(home):
    path = home / "feed.json"
    save_feed(path, spec())
    first = feed(path, 10)
    second = feed(path, 5)
    assert first + second == glibc(SEEDS[0], 7) + glibc(SEEDS[1], 8)
    assert load_feed(path).next_position == 15
    with connect() as session:
        assert list(stored_values(session, require_stream(session, "s"))) == first + second
        bundle = stream_bundle("s").as_text()
        everything = " ".join(
            str(row)
            for table in ("streams", "ingests", "draws", "decisions", "runs", "predictions")
            for row in session.execute(text(f"SELECT * FROM {table}"))
        )
        sources = session.execute(text("SELECT DISTINCT source FROM ingests")).scalars().all()
    assert sources == ["feed"]
    for seed in SEEDS:
        assert str(seed) not in everything and str(seed) not in bundle
    assert str(path) not in everything


def test_a_feed_behind_its_stream_is_refused(home):
    path = home / "feed.json"
    save_feed(path, spec())
    feed(path, 3)
    with connect() as session:
        append_draws(session, "s", [1], 1000, source="hand")
    with pytest.raises(FeedError, match="the feed is at draw 3 but stream 's' holds 4 draws"):
        feed(path, 1)


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        ("{", "Invalid JSON"),
        ('{"stream": "s", "family": "nope", "seeds": [{"position": 0, "seed": 1}]}', "nope"),
        (
            '{"stream": "s", "family": "glibc_rand", "seeds": [{"position": 3, "seed": 1}]}',
            "the first at position 0",
        ),
    ],
)
def test_a_bad_feed_file_is_one_sentence(home, content, sentence):
    path = home / "feed.json"
    path.write_text(content)
    with pytest.raises(FeedError) as error:
        load_feed(path)
    assert str(error.value).startswith(f"{path}: ") and sentence in str(error.value)
