"""The one renderer: rows and words of an answer, the same for the terminal and the artifacts."""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

from gpu_kernels.job import SieveJob
from mimicry.answers import RunAnswer, SieveAnswer, run_answer
from mimicry.render import (
    SURVIVOR_COLUMNS,
    family_table,
    plain_markdown,
    plain_text,
    summary_markdown,
    survivor_rows,
)
from mimicry.search.results import SieveResult, SieveStats, Survivor


def _survivor(p_value: float, offset: int | None = 3, seed: int = 11) -> Survivor:
    return Survivor(
        family="mt19937",
        projection="mod",
        seed=seed,
        state=None,
        offset=offset,
        first_call=offset + 4 if offset is not None else 9,
        skip=0,
        window={"start": 4, "size": 6},
        matches=6,
        matches_before=4,
        matches_after=20,
        checked_before=4,
        checked_after=20,
        p_value=p_value,
        next=[1, 2, 3],
    )


def _result(survivors: list[Survivor], missing=()) -> SieveResult:
    job = SieveJob(family="mt19937", window=(1, 2, 3, 4, 5, 6), candidate_range=(0, 99))
    stats = SieveStats(
        candidates_tested=100 - sum(hi - lo + 1 for lo, hi in missing),
        hypotheses=100,
        seconds=1.0,
        candidates_per_second=100.0,
        chance_per_hypothesis=1e-18,
        expected_false_survivors=1e-16,
        survivor_count=len(survivors),
        significant=any(s.p_value < 0.01 for s in survivors),
        complete=not missing,
        missing_ranges=list(missing),
    )
    return SieveResult(job=job, survivors=survivors, stats=stats)


def test_an_underflowed_p_value_reads_less_than_1e300_in_every_table_and_sentence():
    result = _result([_survivor(0.0)])
    (row,) = survivor_rows(result.survivors)
    assert tuple(row) == SURVIVOR_COLUMNS
    assert row["p-value"] == "< 1e-300"
    answer = run_answer("r1", [result], top=5, window_choices={})
    assert "| < 1e-300 |" in family_table(answer.families)
    assert "p-value < 1e-300" in answer.verdict
    assert "= 0" not in summary_markdown(answer) and " 0 |" not in summary_markdown(answer)
    sieve = SieveAnswer(job=result.job, survivors=result.survivors, stats=result.stats)
    assert "p-value < 1e-300" in sieve.verdict


def test_a_variable_skip_survivor_without_a_reachable_offset_shows_a_dash():
    (row,) = survivor_rows([_survivor(1e-30, offset=None)])
    assert row["offset"] == "-" and row["p-value"] == "1e-30"


def test_a_run_answer_round_trips_through_json_and_says_what_is_missing():
    result = _result([_survivor(1e-40), _survivor(0.5, seed=12)], missing=[(50, 59)])
    answer = run_answer("r2", [result], top=1, window_choices={"mt19937": {"source": "pinned"}})
    assert [s.seed for s in answer.survivors] == [11]  # best first, cut at top
    assert answer.stats.missing_ranges == {"mt19937": [(50, 59)]}
    assert "**Incomplete**: mt19937 candidates 50..59 not searched." in answer.verdict
    dumped = answer.model_dump(mode="json")
    assert dumped["verdict"] == answer.verdict and dumped["job"]["family"] == "mt19937"
    again = RunAnswer.model_validate(dumped)
    assert again.survivors == answer.survivors and again.verdict == answer.verdict


def test_a_significant_search_says_so_even_when_no_survivor_is_shown():
    result = _result([_survivor(1e-40)])
    hidden = SieveAnswer(job=result.job, survivors=[], stats=result.stats)  # --top 0
    assert "**Significant**: a survivor (none shown)" in hidden.verdict
    assert "Nothing significant" not in hidden.verdict


def test_user_text_in_markdown_is_shown_as_written_never_as_a_link_an_image_or_html():
    """A stream name or a note in an artifact or the approval form (markdown the Prefect UI
    renders) reads as the terminal shows it: no link, image, HTML, emphasis, code or heading."""
    hostile = (
        "x [click](http://evil.example) ![i](http://evil.example/i.png) <b>b</b> `c` *e* __u__ "
        "# h &amp; \\* \x1b[31m\x1b]0;T\x07 www.evil.example\n# next line"
    )
    escaped = plain_markdown(hostile)
    rendered = MarkdownIt("commonmark").render(f"# Next draw of {escaped}\n\n- {escaped}\n")
    for tag in ("<a", "<img", "<b>", "<code", "<em", "<strong", "<h2"):
        assert tag not in rendered, tag
    assert "\x1b" not in rendered and "\x07" not in rendered
    heading = re.fullmatch(r"<h1>(.*)</h1>", rendered.splitlines()[0])
    assert heading and html.unescape(heading[1]) == "Next draw of " + plain_text(hostile)
    # Nothing an autolinker (GitHub-flavoured markdown) would turn into a link.
    assert "://" not in escaped and "www." not in escaped
