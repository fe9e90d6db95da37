"""Tests for mimicry.draws: every format's happy path, every kind of bad input, round trips."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimicry.draws import (
    Domain,
    DrawBatch,
    DrawFileError,
    DrawHistory,
    read_draws,
    sessions_in,
    stream_draws,
)

M = 1000


def write(path: Path, content: str | bytes) -> Path:
    """Write ``content`` byte for byte (no newline translation)."""
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def error_of(path: Path | str, **kwargs: object) -> str:
    kwargs.setdefault("modulus", M)
    with pytest.raises(DrawFileError) as info:
        read_draws(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


PICK3 = [
    {"date": "2024-03-01", "session": "midday", "draw": 7},
    {"date": "2024-03-01", "session": "evening", "draw": 512},
    {"date": "2024-03-02", "session": "midday", "draw": 999},
    {"date": "2024-03-02", "session": "evening", "draw": 0},
    {"date": "2024-03-03", "session": "midday", "draw": 31},
]


# ------------------------------------------------------------------------------------------
# plain text


def test_text_comments_blank_lines_whitespace_plus_and_leading_zeros(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.txt",
        "# Pick-3 history, oldest first\n\n  12  \n+7 # trailing comment\n007\n\t999\t\n#x\n0\n",
    )
    history = read_draws(path, modulus=M)
    assert history == DrawHistory(
        values=(12, 7, 7, 999, 0), source=str(path), session=None, dates=None
    )
    assert len(history) == 5


def test_text_source_is_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "d.txt", "1\n2\n")
    monkeypatch.chdir(tmp_path)
    assert read_draws("d.txt", modulus=M).source == "d.txt"
    assert read_draws(Path("d.txt"), modulus=M).source == "d.txt"


@pytest.mark.parametrize(
    "content",
    [
        "1\r\n2\r\n# c\r\n3\r\n",  # CRLF
        "1\r2\r# c\r3\r",  # old Mac CR
        "\ufeff1\n2\n# c\n3",  # UTF-8 BOM, no final newline
        "\ufeff1\r\n2\r\n# c\r\n3\r\n",  # BOM and CRLF
    ],
)
def test_text_line_endings_and_bom(tmp_path: Path, content: str) -> None:
    assert read_draws(write(tmp_path / "d.txt", content), modulus=M).values == (1, 2, 3)


def test_text_utf16_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "\ufeff5\r\n6\r\n".encode("utf-16-le"))
    assert read_draws(path, modulus=M).values == (5, 6)


def test_text_line_numbers_count_crlf_and_comment_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "\ufeff# head\r\n1\r\n\r\n2 # two\r\nx\r\n")
    assert error_of(path) == f"Draw file '{path}', line 5: expected an integer draw, found 'x'."


def test_modulus_bounds_are_inclusive_exclusive(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "0\n9\n")
    assert read_draws(path, modulus=10).values == (0, 9)
    assert error_of(path, modulus=9) == (
        f"Draw file '{path}', line 2: value 9 is outside the range [0, 9)."
    )


@pytest.mark.parametrize("modulus", [0, -5, True, 10.0, "10"])
def test_bad_modulus_is_a_plain_value_error(tmp_path: Path, modulus: object) -> None:
    path = write(tmp_path / "d.txt", "1\n")
    with pytest.raises(ValueError, match="modulus must be a positive integer") as info:
        read_draws(path, modulus=modulus)  # type: ignore[arg-type]
    assert not isinstance(info.value, DrawFileError)


def test_history_is_frozen(tmp_path: Path) -> None:
    history = read_draws(write(tmp_path / "d.txt", "1\n"), modulus=M)
    with pytest.raises(dataclasses.FrozenInstanceError):
        history.values = (2,)  # type: ignore[misc]


# ------------------------------------------------------------------------------------------
# CSV


def test_csv_draw_column_with_date_and_session(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv",
        "date,session,draw\n"
        "2024-03-01,midday,007\n"
        "2024-03-01,evening,512\n"
        "2024-03-02,midday,999\n"
        "2024-03-02,evening,0\n",
    )
    midday = read_draws(path, modulus=M, session="midday")
    assert midday == DrawHistory(
        values=(7, 999), source=str(path), session="midday", dates=("2024-03-01", "2024-03-02")
    )
    evening = read_draws(path, modulus=M, session="evening")
    assert evening.values == (512, 0)
    assert evening.dates == ("2024-03-01", "2024-03-02")
    assert sessions_in(path) == ["midday", "evening"]


def test_csv_session_name_falls_back_to_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "session,draw\nMidday,1\nEvening,2\nMidday,3\n")
    history = read_draws(path, modulus=M, session="midday")
    assert (history.session, history.values) == ("Midday", (1, 3))


def test_csv_single_session_is_selected_without_asking(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "session,draw\nevening,1\nevening,2\n")
    history = read_draws(path, modulus=M)
    assert (history.session, history.values, history.dates) == ("evening", (1, 2), None)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("x,Value", (2, 4)),
        ("x,NUMBER", (2, 4)),
        ("Result,x", (1, 3)),
        ("DRAW,value", (1, 3)),  # draw wins over value
        ("value,draw", (2, 4)),
        ("result,number", (2, 4)),  # number wins over result
    ],
)
def test_csv_draw_column_names_case_insensitive_by_priority(
    tmp_path: Path, header: str, expected: tuple[int, int]
) -> None:
    path = write(tmp_path / "d.csv", f"{header}\n1,2\n3,4\n")
    assert read_draws(path, modulus=M).values == expected


def test_csv_only_column_rule(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "winning numbers\n5\n6\n7\n")
    assert read_draws(path, modulus=M).values == (5, 6, 7)


def test_csv_column_override_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "date,draw,bonus\n2024-01-01,1,10\n2024-01-02,2,20\n")
    assert read_draws(path, modulus=M).values == (1, 2)
    assert read_draws(path, modulus=M, column="Bonus").values == (10, 20)


def test_csv_crlf_bom_quotes_comments_blank_lines_and_trailing_commas(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv",
        '\ufeff# exported\r\n\r\nDate,Session,Draw,\r\n"2024-01-01","midday"," 007 ",\r\n'
        "\r\n# a comment\r\n2024-01-01,evening,+12,\r\n, , ,\r\n",
    )
    history = read_draws(path, modulus=M, session="evening")
    assert (history.values, history.dates) == ((12,), ("2024-01-01",))
    assert read_draws(path, modulus=M, session="midday").values == (7,)


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_semicolon_and_tab_delimiters(tmp_path: Path, delimiter: str) -> None:
    path = write(tmp_path / "d.csv", f"date{delimiter}draw\n2024-01-01{delimiter}3\n")
    assert read_draws(path, modulus=M).values == (3,)


def test_csv_without_header_single_column_reads_like_text(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "5\n6\n")
    assert read_draws(path, modulus=M).values == (5, 6)


def test_csv_dates_equal_allowed_and_datetimes_normalised(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv",
        "date,draw\n2024-01-01,1\n2024-01-01,2\n2024-01-01T12:30,3\n2024-01-01 12:30:00,4\n"
        "2024-01-02T09:00:00Z,5\n2024-01-02,6\n",
    )
    history = read_draws(path, modulus=M)
    assert history.values == (1, 2, 3, 4, 5, 6)
    assert history.dates == (
        "2024-01-01",
        "2024-01-01",
        "2024-01-01T12:30:00",
        "2024-01-01T12:30:00",
        "2024-01-02T09:00:00+00:00",
        "2024-01-02",
    )


def test_date_order_is_checked_only_within_the_selected_stream(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv",
        "date,session,draw\n2024-01-02,midday,1\n2024-01-01,evening,2\n2024-01-03,midday,3\n"
        "2024-01-02,evening,4\n",
    )
    assert read_draws(path, modulus=M, session="midday").values == (1, 3)
    assert read_draws(path, modulus=M, session="evening").values == (2, 4)


# ------------------------------------------------------------------------------------------
# JSON


def test_json_list_of_integers(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "[7, 512,\n 999, 0]")
    assert read_draws(path, modulus=M) == DrawHistory(
        values=(7, 512, 999, 0), source=str(path), session=None, dates=None
    )
    assert sessions_in(path) == []


def test_json_pick3_objects_by_session(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", json.dumps(PICK3, indent=2))
    midday = read_draws(path, modulus=M, session="midday")
    assert midday == DrawHistory(
        values=(7, 999, 31),
        source=str(path),
        session="midday",
        dates=("2024-03-01", "2024-03-02", "2024-03-03"),
    )
    assert read_draws(path, modulus=M, session="evening").values == (512, 0)
    assert sessions_in(path) == ["midday", "evening"]


def test_json_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "\ufeff[\r\n  1,\r\n  2\r\n]\r\n")
    assert read_draws(path, modulus=M).values == (1, 2)


def test_json_objects_without_session_or_date(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", '[{"draw": 1}, {"draw": 2, "note": "x"}]')
    assert read_draws(path, modulus=M) == DrawHistory((1, 2), str(path), None, None)


def test_json_objects_column_override_and_integer_session(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", '[{"session": 1, "pick": 4}, {"session": 2, "pick": 5}]')
    history = read_draws(path, modulus=M, column="pick", session="2")
    assert (history.values, history.session) == ((5,), "2")
    assert sessions_in(path, column="pick") == ["1", "2"]


# ------------------------------------------------------------------------------------------
# sniffing unknown extensions


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("d.dat", "  [1, 2, 3]", (1, 2, 3)),
        ("d", "draw\n1\n2\n3\n", (1, 2, 3)),
        ("d.log", "# comment\ndate,draw\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n", (1, 2, 3)),
        ("d.tsv", "date\tdraw\n2024-01-01\t1\n2024-01-02\t2\n2024-01-03\t3\n", (1, 2, 3)),
        ("d.draws", "# comment\n1\n2 # two\n3\n", (1, 2, 3)),
        ("D.CSV", "value\n1\n2\n3\n", (1, 2, 3)),
    ],
)
def test_sniffing(tmp_path: Path, name: str, content: str, expected: tuple[int, ...]) -> None:
    assert read_draws(write(tmp_path / name, content), modulus=M).values == expected


def test_sniffed_number_like_first_line_is_text(tmp_path: Path) -> None:
    path = write(tmp_path / "d.dat", "12.5\n3\n")
    assert error_of(path) == f"Draw file '{path}', line 1: expected an integer draw, found '12.5'."


def test_extension_wins_over_content(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "draw\n1\n")
    assert error_of(path) == f"Draw file '{path}', line 1: expected an integer draw, found 'draw'."


# ------------------------------------------------------------------------------------------
# bad input: values outside [0, M)


@pytest.mark.parametrize(
    ("token", "shown"),
    [("1000", "1000"), ("-1", "-1"), ("+01000", "1000"), ("99999999999999999999999", None)],
)
def test_text_value_out_of_range(tmp_path: Path, token: str, shown: str | None) -> None:
    path = write(tmp_path / "d.txt", f"5\n{token}\n")
    shown = shown or token
    assert error_of(path) == (
        f"Draw file '{path}', line 2: value {shown} is outside the range [0, 1000)."
    )


def test_huge_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "1" * 5000 + "\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 1: value {'1' * 39}… is outside the range [0, 1000)."
    )


def test_csv_value_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "date,draw\n2024-01-01,1\n2024-01-02,1000\n")
    assert (
        error_of(path) == f"Draw file '{path}', line 3: value 1000 is outside the range [0, 1000)."
    )


def test_json_value_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "[1, 2, -3]")
    assert error_of(path) == f"Draw file '{path}', item 2: value -3 is outside the range [0, 1000)."


def test_json_object_value_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", json.dumps([{"draw": 1}, {"draw": 1000}]))
    assert error_of(path, modulus=1000) == (
        f"Draw file '{path}', item 1: value 1000 is outside the range [0, 1000)."
    )


def test_range_is_checked_in_every_session(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "session,draw\nmidday,1\nevening,1000\n")
    assert error_of(path, session="midday") == (
        f"Draw file '{path}', line 3: value 1000 is outside the range [0, 1000)."
    )


# ------------------------------------------------------------------------------------------
# bad input: non-integers


@pytest.mark.parametrize(
    "token", ["12.5", "abc", "0x1F", "1,000", "1_000", "1e3", "3.0", "١٢", "1 2 3", "--1", "+"]
)
def test_text_non_integer(tmp_path: Path, token: str) -> None:
    path = write(tmp_path / "d.txt", f"1\n\n{token}\n")
    assert (
        error_of(path) == f"Draw file '{path}', line 3: expected an integer draw, found {token!r}."
    )


def test_long_non_integer_is_shortened(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "x" * 100 + "\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 1: expected an integer draw, found '{'x' * 39}…'."
    )


@pytest.mark.parametrize(
    ("cell", "found"),
    [("12.5", "'12.5'"), ("abc", "'abc'"), ('"1,000"', "'1,000'"), ("", "an empty field")],
)
def test_csv_non_integer(tmp_path: Path, cell: str, found: str) -> None:
    path = write(tmp_path / "d.csv", f"date,Draw\n2024-01-01,1\n2024-01-02,{cell}\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 3: expected an integer draw in column 'Draw', found {found}."
    )


@pytest.mark.parametrize(
    ("item", "found"),
    [
        ("true", "true"),
        ("false", "false"),
        ("3.0", "3.0"),
        ("1e3", "1e3"),
        ("NaN", "NaN"),
        ("null", "null"),
        ('"12"', 'the string "12"'),
        ("[1]", "a list"),
        ('{"draw": 1}', "an object"),
    ],
)
def test_json_non_integer(tmp_path: Path, item: str, found: str) -> None:
    path = write(tmp_path / "d.json", f"[0, 1, {item}]")
    assert error_of(path) == f"Draw file '{path}', item 2: expected an integer draw, found {found}."


@pytest.mark.parametrize(
    ("draw", "found"), [("true", "true"), ("3.0", "3.0"), ('"7"', 'the string "7"')]
)
def test_json_object_non_integer_draw(tmp_path: Path, draw: str, found: str) -> None:
    path = write(tmp_path / "d.json", f'[{{"draw": 1}}, {{"draw": {draw}}}]')
    assert (
        error_of(path)
        == f"Draw file '{path}', item 1: expected an integer \"draw\", found {found}."
    )


# ------------------------------------------------------------------------------------------
# bad input: empty files


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("d.txt", "", " (expected one integer per line)"),
        ("d.txt", "# nothing yet\n\n   \n", " (expected one integer per line)"),
        ("d.csv", "date,draw\n\n", " (only a header on line 1)"),
        ("d.csv", "# exported\ndate,draw\n", " (only a header on line 2)"),
        ("d.csv", "", ""),
        ("d.json", "[]", " (an empty JSON list)"),
        ("d.json", "\ufeff [ ] \n", " (an empty JSON list)"),
    ],
)
def test_empty_file(tmp_path: Path, name: str, content: str, detail: str) -> None:
    path = write(tmp_path / name, content)
    assert error_of(path) == f"Draw file '{path}' contains no draws{detail}."
    assert sessions_in(path) == []


# ------------------------------------------------------------------------------------------
# bad input: sessions


def test_unknown_session_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", json.dumps(PICK3))
    assert error_of(path, session="night") == (
        f"Draw file '{path}' has no session 'night'; its sessions are 'midday', 'evening'."
    )


def test_unknown_session_in_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "session,draw\nA,1\nB,2\nC,3\n")
    assert error_of(path, session="D") == (
        f"Draw file '{path}' has no session 'D'; its sessions are 'A', 'B', 'C'."
    )


@pytest.mark.parametrize(
    ("name", "content"), [("d.txt", "1\n"), ("d.json", "[1]"), ("d.csv", "draw\n1\n")]
)
def test_session_requested_from_a_file_without_sessions(
    tmp_path: Path, name: str, content: str
) -> None:
    path = write(tmp_path / name, content)
    assert error_of(path, session="midday") == (
        f"Draw file '{path}' has no sessions, so session 'midday' cannot be selected."
    )


@pytest.mark.parametrize("name", ["d.json", "d.csv"])
def test_several_sessions_without_session(tmp_path: Path, name: str) -> None:
    if name.endswith(".json"):
        path = write(tmp_path / name, json.dumps(PICK3))
    else:
        path = write(
            tmp_path / name, "date,session,draw\n2024-01-01,midday,1\n2024-01-01,evening,2\n"
        )
    assert error_of(path) == (
        f"Draw file '{path}' holds 2 sessions ('midday', 'evening'); select one with --session"
        " (session= in read_draws)."
    )


def test_csv_empty_session_field(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "session,draw\nmidday,1\n ,2\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 3: expected a session name in column 'session',"
        " found an empty field."
    )


@pytest.mark.parametrize(
    ("value", "found"), [("null", "null"), ('""', "an empty string"), ("true", "true")]
)
def test_json_bad_session_value(tmp_path: Path, value: str, found: str) -> None:
    path = write(
        tmp_path / "d.json", f'[{{"session": "m", "draw": 1}}, {{"session": {value}, "draw": 2}}]'
    )
    assert error_of(path) == (
        f"Draw file '{path}', item 1: expected a session name in \"session\", found {found}."
    )


def test_json_session_field_missing_in_some_items(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", '[{"session": "m", "draw": 1}, {"draw": 2}]')
    assert error_of(path) == (
        f"Draw file '{path}', item 1: the object has no \"session\" field, but item 0 has one."
    )
    path = write(tmp_path / "e.json", '[{"draw": 1}, {"date": "2024-01-01", "draw": 2}]')
    assert error_of(path) == (
        f"Draw file '{path}', item 1: the object has a \"date\" field, but item 0 has none."
    )


# ------------------------------------------------------------------------------------------
# bad input: dates out of order and unparseable dates


def test_csv_date_older_than_previous(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "date,draw\n2024-01-01,1\n2024-01-03,2\n2024-01-02,3\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 4: date 2024-01-02 is older than the previous date"
        " (2024-01-03 on line 3); expected dates oldest first."
    )


def test_csv_date_older_within_selected_session_names_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv",
        "date,session,draw\n2024-01-05,midday,1\n2024-01-05,evening,2\n2024-01-04,midday,3\n",
    )
    assert error_of(path, session="midday") == (
        f"Draw file '{path}', line 4: date 2024-01-04 is older than the previous date in session"
        " 'midday' (2024-01-05 on line 2); expected dates oldest first."
    )


def test_datetime_older_within_the_same_day(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "date,draw\n2024-01-01T10:00Z,1\n2024-01-01T09:00Z,3\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 3: date 2024-01-01T09:00Z is older than the previous date"
        " (2024-01-01T10:00Z on line 2); expected dates oldest first."
    )


def test_json_date_older_than_previous(tmp_path: Path) -> None:
    items = [dict(item) for item in PICK3]
    items[4]["date"] = "2024-02-28"
    path = write(tmp_path / "d.json", json.dumps(items))
    assert error_of(path, session="midday") == (
        f"Draw file '{path}', item 4: date 2024-02-28 is older than the previous date in session"
        " 'midday' (2024-03-02 on item 2); expected dates oldest first."
    )


@pytest.mark.parametrize(
    "bad", ["2024-13-01", "2024-02-30", "01/02/2024", "2024-1-2", "20240102", "yesterday"]
)
def test_csv_unparseable_date(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path / "d.csv", f"date,draw\n2024-01-01,1\n{bad},2\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 3: date {bad!r} is not a valid ISO date (expected YYYY-MM-DD"
        " or an ISO datetime)."
    )


def test_csv_empty_date(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "date,draw\n,2\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 2: expected an ISO date (YYYY-MM-DD), found an empty field."
    )


def test_json_unparseable_date(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.json",
        '[{"date": "2024-01-01", "draw": 1}, {"date": "2024-02-30", "draw": 2}]',
    )
    assert error_of(path) == (
        f"Draw file '{path}', item 1: date '2024-02-30' is not a valid ISO date (expected"
        " YYYY-MM-DD or an ISO datetime)."
    )
    path = write(tmp_path / "e.json", '[{"date": 20240101, "draw": 1}]')
    assert error_of(path) == (
        f"Draw file '{path}', item 0: expected an ISO date string in \"date\", found 20240101."
    )


# ------------------------------------------------------------------------------------------
# bad input: columns


def test_csv_missing_draw_column_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "# export\ndate,session,winning\n2024-01-01,m,1\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 2: no draw column; expected one named draw, value, number or"
        " result (or chosen with --column), found columns 'date', 'session', 'winning'."
    )


def test_csv_requested_column_does_not_exist(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "date,draw\n2024-01-01,1\n")
    assert error_of(path, column="bonus") == (
        f"Draw file '{path}', line 1: there is no column 'bonus'; found columns 'date', 'draw'."
    )


def test_column_requested_from_plain_text(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "1\n")
    assert error_of(path, column="draw") == (
        f"Draw file '{path}' is plain text with one draw per line, so column 'draw' cannot be"
        " selected; expected a CSV file with a header."
    )


def test_column_requested_from_headerless_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "1\n2\n")
    assert error_of(path, column="draw") == (
        f"Draw file '{path}' has no header row, so column 'draw' cannot be selected; expected a"
        " header naming the columns."
    )


def test_column_requested_from_json_list_of_integers(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "[1, 2]")
    assert error_of(path, column="draw") == (
        f"Draw file '{path}' is a JSON list of integers without fields, so column 'draw' cannot be"
        " selected."
    )


def test_csv_headerless_with_several_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "\n1,2\n3,4\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 2: expected a header row naming the columns (such as draw, date,"
        " session), found '1,2'."
    )


@pytest.mark.parametrize(("row", "count"), [("2024-01-01,1,234", 3), ("2024-01-01", 1)])
def test_csv_wrong_number_of_fields(tmp_path: Path, row: str, count: int) -> None:
    path = write(tmp_path / "d.csv", f"date,draw\n2024-01-01,5\n{row}\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 3: expected 2 fields ('date', 'draw'), found {count}."
    )


def test_csv_line_number_is_where_a_multiline_record_starts(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", 'note,draw\n"two\nlines",1\nok,x\n')
    assert error_of(path) == (
        f"Draw file '{path}', line 4: expected an integer draw in column 'draw', found 'x'."
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('draw\n1\n"2\n3\n', "unexpected end of data"),
        ('draw\n1\n"2"x\n3\n', "',' expected after '\"'"),
        ("draw\n1\n" + "9" * 200_000 + "\n", "field larger than field limit (131072)"),
    ],
)
def test_csv_malformed(tmp_path: Path, content: str, problem: str) -> None:
    path = write(tmp_path / "d.csv", content)
    assert error_of(path) == f"Draw file '{path}', line 3: the file is not valid CSV ({problem})."


# ------------------------------------------------------------------------------------------
# bad input: JSON structure


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "[1,\n 2\n 3]")
    assert error_of(path) == (
        f"Draw file '{path}' is not valid JSON: Expecting ',' delimiter at line 3, column 2."
    )


def test_invalid_json_after_bom_keeps_positions(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "\ufeff[1, 2,]")
    assert error_of(path) == (
        f"Draw file '{path}' is not valid JSON: Expecting value at line 1, column 7."
    )


def test_json_number_too_long(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "[" + "9" * 5000 + "]")
    assert error_of(path) == (
        f"Draw file '{path}' holds a JSON number too long to read; expected integer draws."
    )


def test_json_object_missing_draw(tmp_path: Path) -> None:
    items = [dict(item) for item in PICK3]
    del items[3]["draw"]
    path = write(tmp_path / "d.json", json.dumps(items))
    assert error_of(path, session="midday") == (
        f'Draw file \'{path}\', item 3: the object has no "draw" field; found fields "date",'
        ' "session".'
    )


def test_json_object_missing_requested_field(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", '[{"draw": 1}]')
    assert error_of(path, column="pick") == (
        f'Draw file \'{path}\', item 0: the object has no "pick" field; found fields "draw".'
    )


def test_json_not_a_list(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", '{"draws": [1, 2]}')
    assert error_of(path) == (
        f"Draw file '{path}' holds an object; expected a JSON list of integers or of objects"
        ' with a "draw" field.'
    )


def test_json_objects_then_integer(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", '[{"draw": 1}, 2]')
    assert error_of(path) == f"Draw file '{path}', item 1: expected an object like item 0, found 2."


# ------------------------------------------------------------------------------------------
# bad input: unreadable files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    assert error_of(path) == f"Draw file '{path}' cannot be read: No such file or directory."
    with pytest.raises(DrawFileError):
        sessions_in(path)


def test_directory_is_unreadable(tmp_path: Path) -> None:
    assert error_of(tmp_path) == f"Draw file '{tmp_path}' cannot be read: Is a directory."


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_invalid_utf8_names_the_line(tmp_path: Path, bom: bytes) -> None:
    path = write(tmp_path / "d.txt", bom + b"5\r\n6\r\n\xff7\r\n")
    assert error_of(path) == (
        f"Draw file '{path}', line 3: byte 0xff is not valid UTF-8; expected a UTF-8 text file."
    )


# ------------------------------------------------------------------------------------------
# the error type


def test_error_is_a_value_error_with_location_and_pickles(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", "[1, 1000]")
    with pytest.raises(ValueError) as info:
        read_draws(path, modulus=M)
    error = info.value
    assert isinstance(error, DrawFileError)
    assert (error.source, error.line, error.item) == (str(path), None, 1)
    clone = pickle.loads(pickle.dumps(error))
    assert (str(clone), clone.item, clone.source) == (str(error), 1, str(path))

    path = write(tmp_path / "d.txt", "1\nx\n")
    with pytest.raises(DrawFileError) as info:
        read_draws(path, modulus=M)
    assert (info.value.line, info.value.item) == (2, None)


# ------------------------------------------------------------------------------------------
# round trips


def _as_text(values: list[int], noise: list[int]) -> str:
    lines = ["# history"]
    for i, v in enumerate(values):
        style = noise[i % len(noise)] if noise else 0
        if style == 1:
            lines.append(f"  +{v:03d}  # draw {i}")
        elif style == 2:
            lines.append("")
            lines.append(str(v))
        else:
            lines.append(str(v))
    return "\r\n".join(lines) + "\r\n"


def _as_csv(values: list[int], sessions: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "session", "draw"])
    for i, v in enumerate(values):
        writer.writerow([f"2024-01-{1 + i // 40:02d}", sessions[i % len(sessions)], v])
    return out.getvalue()


draw_lists = st.integers(min_value=1, max_value=10_000).flatmap(
    lambda m: st.tuples(st.just(m), st.lists(st.integers(0, m - 1), min_size=1, max_size=200))
)
roundtrip = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@roundtrip
@given(draw_lists, st.lists(st.integers(0, 2), max_size=5))
def test_roundtrip_text(tmp_path: Path, case: tuple[int, list[int]], noise: list[int]) -> None:
    modulus, values = case
    path = write(tmp_path / "r.txt", "\ufeff" + _as_text(values, noise))
    assert read_draws(path, modulus=modulus).values == tuple(values)


@roundtrip
@given(draw_lists)
def test_roundtrip_csv_single_column(tmp_path: Path, case: tuple[int, list[int]]) -> None:
    modulus, values = case
    path = write(tmp_path / "r.csv", "draw\r\n" + "".join(f"{v}\r\n" for v in values))
    assert read_draws(path, modulus=modulus).values == tuple(values)


@roundtrip
@given(
    draw_lists,
    st.lists(st.sampled_from(["midday", "evening", "night"]), min_size=1, max_size=3, unique=True),
)
def test_roundtrip_csv_sessions(
    tmp_path: Path, case: tuple[int, list[int]], names: list[str]
) -> None:
    modulus, values = case
    path = write(tmp_path / "r.csv", _as_csv(values, names))
    seen = [names[i % len(names)] for i in range(len(values))]
    assert sessions_in(path) == list(dict.fromkeys(seen))
    for name in dict.fromkeys(seen):
        history = read_draws(path, modulus=modulus, session=name)
        assert history.values == tuple(v for v, s in zip(values, seen, strict=True) if s == name)
        assert history.session == name


@roundtrip
@given(draw_lists)
def test_roundtrip_json_list(tmp_path: Path, case: tuple[int, list[int]]) -> None:
    modulus, values = case
    path = write(tmp_path / "r.json", json.dumps(values))
    assert read_draws(path, modulus=modulus).values == tuple(values)


@roundtrip
@given(
    draw_lists,
    st.lists(st.sampled_from(["midday", "evening"]), min_size=1, max_size=2, unique=True),
)
def test_roundtrip_json_objects(
    tmp_path: Path, case: tuple[int, list[int]], names: list[str]
) -> None:
    modulus, values = case
    items = [
        {"date": f"2024-02-{1 + i // 10:02d}", "session": names[i % len(names)], "draw": v}
        for i, v in enumerate(values)
    ]
    path = write(tmp_path / "r.json", json.dumps(items, indent=1))
    for name in names:
        expected = [item for item in items if item["session"] == name]
        if not expected:
            continue
        history = read_draws(path, modulus=modulus, session=name)
        assert history.values == tuple(item["draw"] for item in expected)
        assert history.dates == tuple(item["date"] for item in expected)


# ------------------------------------------------------------------------------------------
# streaming: stream_draws yields batches that add up to read_draws's history


def batches_of(path: Path, **kwargs: object) -> list[DrawBatch]:
    kwargs.setdefault("modulus", M)
    return list(stream_draws(path, **kwargs))  # type: ignore[arg-type]


def joined(batches: list[DrawBatch]) -> tuple[tuple[int, ...], tuple[str, ...] | None, tuple]:
    values = tuple(v for b in batches for v in b.values)
    dates = None if batches[0].dates is None else tuple(d for b in batches for d in b.dates or ())
    locations = tuple(n for b in batches for n in b.locations)
    return values, dates, locations


def _pick3_csv(days: int) -> str:
    rows = ["date,session,draw"]
    for day in range(days):
        when = f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}"
        rows += [f"{when},midday,{(7 * day) % M}", f"{when},evening,{(13 * day) % M}"]
    return "\n".join(rows) + "\n"


STREAM_CASES = [
    (
        "d.txt",
        "# head\n" + "".join(f"{i % M}\n" if i % 7 else f"\n{i % M} # c\n" for i in range(50)),
        {},
    ),
    ("d.csv", _pick3_csv(40), {"session": "evening"}),
    ("d.json", json.dumps([(i * 37) % M for i in range(60)]), {}),
    (
        "d.json",
        json.dumps(
            [dict(item, date=f"2024-03-{1 + i // 2:02d}") for i, item in enumerate(PICK3 * 6)]
        ),
        {"session": "midday"},
    ),
]


@pytest.mark.parametrize(("name", "content", "kwargs"), STREAM_CASES)
@pytest.mark.parametrize("batch_size", [1, 3, 16, 65536])
def test_stream_batches_add_up_to_read_draws(
    tmp_path: Path, name: str, content: str, kwargs: dict[str, str], batch_size: int
) -> None:
    path = write(tmp_path / name, content)
    history = read_draws(path, modulus=M, **kwargs)
    stream = stream_draws(path, modulus=M, batch_size=batch_size, **kwargs)
    assert (stream.source, stream.session, stream.location_kind) == (
        history.source,
        history.session,
        history.location_kind,
    )
    batches = list(stream)
    assert joined(batches) == (history.values, history.dates, history.locations)
    assert [b.start for b in batches] == list(range(0, len(history), batch_size))
    assert all(len(b.values) == batch_size for b in batches[:-1])
    assert 1 <= len(batches[-1].values) <= batch_size
    assert all(len(b.locations) == len(b.values) for b in batches)
    assert stream.where(batches[-1].locations[-1]) == history.where(len(history) - 1)
    assert joined(list(stream)) == joined(batches)  # each iteration reads the file again


def test_stream_locations_are_ranges_when_contiguous(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "".join(f"{i}\n" for i in range(100)))
    batches = batches_of(path, batch_size=30)
    assert [b.locations for b in batches] == [
        range(1, 31),
        range(31, 61),
        range(61, 91),
        range(91, 101),
    ]


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "message"),
    [
        (
            "d.txt",
            "".join(f"{i}\n" for i in range(10)) + "x\n1\n",
            {},
            "line 11: expected an integer draw, found 'x'.",
        ),
        (
            "d.csv",
            "draw\n" + "".join(f"{i}\n" for i in range(10)) + "1000\n",
            {},
            "line 12: value 1000 is outside the range [0, 1000).",
        ),
        (
            "d.csv",
            "date,draw\n"
            + "".join(f"2024-01-{1 + i:02d},{i}\n" for i in range(10))
            + "2024-01-01,1\n",
            {},
            "line 12: date 2024-01-01 is older than the previous date (2024-01-10 on line 11);"
            " expected dates oldest first.",
        ),
        (
            "d.json",
            json.dumps([*range(10), True]),
            {},
            "item 10: expected an integer draw, found true.",
        ),
        (
            "d.json",
            json.dumps([{"draw": i} for i in range(10)] + [{"value": 1}]),
            {},
            'item 10: the object has no "draw" field; found fields "value".',
        ),
    ],
)
def test_stream_error_raises_after_the_batches_before_it(
    tmp_path: Path, name: str, content: str, kwargs: dict[str, str], message: str
) -> None:
    path = write(tmp_path / name, content)
    seen: list[DrawBatch] = []
    with pytest.raises(DrawFileError) as info:
        for batch in stream_draws(path, modulus=M, batch_size=3, **kwargs):
            seen.append(batch)
    assert str(info.value) == f"Draw file '{path}', {message}"
    # Ten good draws: three whole batches go out; the fourth would hold the bad one.
    assert [b.values for b in seen] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert error_of(path, **kwargs) == str(info.value)


def test_stream_up_front_problems_raise_from_stream_draws(tmp_path: Path) -> None:
    with pytest.raises(DrawFileError, match="cannot be read"):
        stream_draws(tmp_path / "nope.txt", modulus=M)
    path = write(tmp_path / "d.csv", "date,draw\n2024-01-01,1\n")
    with pytest.raises(DrawFileError, match="there is no column 'bonus'"):
        stream_draws(path, modulus=M, column="bonus")
    path = write(tmp_path / "s.csv", "session,draw\nA,1\nB,2\nA,x\n")
    with pytest.raises(DrawFileError, match="line 4: expected an integer draw"):
        stream_draws(path, modulus=M, session="A")  # the first pass reads every session
    path = write(tmp_path / "t.csv", "session,draw\nA,1\nB,2\n")
    with pytest.raises(DrawFileError, match="holds 2 sessions"):
        stream_draws(path, modulus=M)
    with pytest.raises(DrawFileError, match="has no session 'C'"):
        stream_draws(path, modulus=M, session="C")
    assert stream_draws(path, modulus=M, session="b").session == "B"
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        stream_draws(path, modulus=M, session="A", batch_size=0)


def test_stream_empty_file_raises_at_the_end(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", "# nothing yet\n")
    stream = stream_draws(path, modulus=M)
    with pytest.raises(DrawFileError, match="contains no draws"):
        list(stream)


def _big_json(count: int) -> str:
    """A JSON list of integers well past one read of the file, some lines long, some short."""
    rng = random.Random(5)
    parts = []
    for i in range(count):
        parts.append(str(rng.randrange(M)))
        parts.append(",\n  " if i % 10 == 9 else ", ")
    return "[\n  " + "".join(parts[:-1]) + "\n]\n"


@pytest.mark.parametrize(
    ("broken", "replacement"),
    [
        (", ", " "),  # missing comma
        (", ", ", , "),  # extra comma
        (", ", ", x"),  # not a value
        (", ", ', "unterminated'),
        (", ", ", 1., "),
        (", ", ", tru"),
        (", ", ", 01"),
        (", ", ', {"draw" 1}'),
    ],
)
def test_json_syntax_error_deep_in_the_file_has_json_loads_position(
    tmp_path: Path, broken: str, replacement: str
) -> None:
    text = _big_json(200_000)  # about 1 MB
    at = text.index(broken, len(text) * 3 // 4)
    text = text[:at] + replacement + text[at + len(broken) :]
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    exc = expected.value
    path = write(tmp_path / "d.json", text)
    assert error_of(path) == (
        f"Draw file '{path}' is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    )


@pytest.mark.parametrize("ending", ["]", "\n] x", "]\n\n  ,"])
def test_json_end_of_list_deep_in_the_file(tmp_path: Path, ending: str) -> None:
    text = _big_json(200_000).rstrip().removesuffix("]") + ending
    path = write(tmp_path / "d.json", text)
    try:
        expected = json.loads(text)
    except json.JSONDecodeError as exc:
        assert error_of(path) == (
            f"Draw file '{path}' is not valid JSON: {exc.msg} at line {exc.lineno},"
            f" column {exc.colno}."
        )
    else:
        assert read_draws(path, modulus=M).values == tuple(expected)


def test_plain_text_fast_and_exact_paths_agree(tmp_path: Path) -> None:
    rng = random.Random(11)
    values = [rng.randrange(M) for _ in range(300_000)]  # several reads of the file
    plain = write(tmp_path / "plain.txt", "".join(f"{v}\n" for v in values))
    lines, where = ["# history"], []
    for i, v in enumerate(values):
        if i % 50_000 == 7:
            lines.append("")
        lines.append(f"+{v} # draw {i}" if i % 100_001 == 3 else str(v))
        where.append(len(lines))
    noisy = write(tmp_path / "noisy.txt", "\n".join(lines) + "\n")
    fast, exact = read_draws(plain, modulus=M), read_draws(noisy, modulus=M)
    assert fast.values == exact.values == tuple(values)
    assert fast.locations == tuple(range(1, len(values) + 1))
    assert exact.locations == tuple(where)
    assert joined(batches_of(noisy, batch_size=3)) == (exact.values, None, exact.locations)


@pytest.mark.parametrize(
    ("eol", "encoding"), [("\r\n", "utf-8"), ("\r", "utf-8"), ("\n", "utf-16-le")]
)
def test_line_ends_and_encodings_across_reads(tmp_path: Path, eol: str, encoding: str) -> None:
    count = 200_000  # line ends fall on both sides of the file's read boundaries
    text = "\ufeff" + eol.join(str(i % M) for i in range(count)) + eol
    path = write(tmp_path / "d.txt", text.encode(encoding))
    history = read_draws(path, modulus=M)
    assert history.values == tuple(i % M for i in range(count))
    assert history.locations == tuple(range(1, count + 1))


def test_invalid_utf8_deep_in_the_file_names_its_line(tmp_path: Path) -> None:
    data = b"".join(b"%d\r\n" % (i % M) for i in range(300_000))
    at = data.index(b"\r\n", len(data) * 2 // 3) + 2
    line = data.count(b"\n", 0, at) + 1
    path = write(tmp_path / "d.txt", data[:at] + b"\xc3(" + data[at:])
    assert error_of(path) == (
        f"Draw file '{path}', line {line}: byte 0xc3 is not valid UTF-8; expected a UTF-8 text"
        " file."
    )


_PEAK_RSS = """
import sys
from mimicry.draws import stream_draws
count = sum(len(b.values) for b in stream_draws(sys.argv[1], modulus=1000))
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(count, peak.split()[1])
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_streaming_memory_stays_bounded(tmp_path: Path) -> None:
    # 3,000,000 lines (12 MB): reading them whole peaked at 460 MB, and read_draws's history
    # alone takes 280 MB; streaming peaks near 33 MB (the interpreter alone is about 18 MB).
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (pytest's) size.
    rng = random.Random(3)
    path = tmp_path / "big.txt"
    with path.open("w") as fh:
        for _ in range(30):
            fh.write("".join(f"{rng.randrange(M)}\n" for _ in range(100_000)))
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    count, peak_kib = int(out[0]), int(out[1])
    assert count == 3_000_000
    assert peak_kib < 100 * 1024


# -- domains other than [0, M): signed and 64-bit integers, doubles (state recovery) ----------

UNIT = Domain(0, 1, floats=True)
SIGNED = Domain(-(1 << 31), 1 << 31)


def test_a_float_domain_reads_doubles_in_every_format(tmp_path: Path) -> None:
    values = [0.9311600617849973, 0.0, 0.5, 1e-05]
    text = write(tmp_path / "d.txt", "".join(f"{v!r}\n" for v in values))
    as_csv = write(tmp_path / "d.csv", "draw\n" + "".join(f"{v!r}\n" for v in values))
    as_json = write(tmp_path / "d.json", json.dumps(values))
    objects = write(tmp_path / "o.json", json.dumps([{"draw": v} for v in values]))
    for path in (text, as_csv, as_json, objects):
        assert read_draws(path, domain=UNIT).values == tuple(values)


def test_a_signed_domain_reads_negative_and_64_bit_integers(tmp_path: Path) -> None:
    path = write(tmp_path / "s.txt", "-2147483648\n2147483647\n-1\n")
    assert read_draws(path, domain=SIGNED).values == (-(1 << 31), (1 << 31) - 1, -1)
    wide = write(tmp_path / "w.json", json.dumps([(1 << 64) - 1, 0]))
    assert read_draws(wide, domain=Domain(0, 1 << 64)).values == ((1 << 64) - 1, 0)


@pytest.mark.parametrize(
    ("name", "content", "domain", "message"),
    [
        ("f.txt", "0.5\nnan\n", UNIT, "line 2: expected a number draw, found 'nan'"),
        ("f.txt", "0.5\n1.0\n", UNIT, "line 2: value 1.0 is outside the range [0, 1)"),
        ("f.json", "[0.5, Infinity]", UNIT, "item 1: expected a number draw, found Infinity"),
        ("f.json", "[0.5, -0.25]", UNIT, "item 1: value -0.25 is outside the range [0, 1)"),
        ("f.txt", "3\n-2147483649\n", SIGNED, "line 2: value -2147483649 is outside the range"),
        ("f.txt", "0.5\n", SIGNED, "line 1: expected an integer draw, found '0.5'"),
        ("f.json", "[1.5]", SIGNED, "item 0: expected an integer draw, found 1.5"),
    ],
)
def test_a_domain_refuses_what_it_does_not_hold(
    tmp_path: Path, name: str, content: str, domain: Domain, message: str
) -> None:
    path = write(tmp_path / name, content)
    assert message in error_of(path, modulus=None, domain=domain)


def test_modulus_and_domain_are_exclusive(tmp_path: Path) -> None:
    path = write(tmp_path / "x.txt", "1\n")
    with pytest.raises(ValueError, match="exactly one of modulus and domain"):
        read_draws(path, modulus=10, domain=SIGNED)
