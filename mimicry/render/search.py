"""The words and rows of a search's answer (Steps 1-2): the survivor table, the verdict, the
summary, and one line per step for the run's log."""

from __future__ import annotations

from collections.abc import Sequence

from mimicry.render.ranking import ranking_result
from mimicry.search.results import Survivor
from mimicry.search.statistics import SIGNIFICANCE_LEVEL, p_value_text

#: The columns of a survivor table, in order.
SURVIVOR_COLUMNS = (
    "family",
    "seed or state",
    "offset",
    "skip",
    "window",
    "before",
    "after",
    "p-value",
    "next",
)


def p_value_cell(p: float) -> str:
    """A p-value in a table cell: ``0.0123``, or ``< 1e-300`` where it underflowed to 0."""
    return p_value_text(p).removeprefix("= ")


def survivor_rows(
    survivors: Sequence[Survivor], *, hex_seeds: bool = False
) -> list[dict[str, str]]:
    number = hex if hex_seeds else str
    return [
        {
            "family": s.family,
            "seed or state": number(s.seed if s.seed is not None else s.state),
            # None: a variable-skip walk back from the window cannot reach the first draw.
            "offset": "-" if s.offset is None else str(s.offset),
            "skip": str(s.skip),
            "window": f"{s.matches}/{s.window['size']}",
            "before": f"{s.matches_before}/{s.checked_before}",
            "after": f"{s.matches_after}/{s.checked_after}",
            "p-value": p_value_cell(s.p_value),
            "next": " ".join(map(str, s.next)),
        }
        for s in survivors
    ]


def incompleteness(missing_ranges: dict[str, list[tuple[int, int]]], overflowed: Sequence[str]):
    """What an incomplete search did not cover, in words."""
    parts = [
        f"{family} candidates {', '.join(f'{lo}..{hi}' for lo, hi in ranges)} not searched"
        for family, ranges in missing_ranges.items()
    ]
    parts += [
        f"{family}'s survivor buffer overflowed, so some survivors were dropped"
        for family in overflowed
    ]
    return "; ".join(parts) or "some candidates were not searched"


def verdict(stats, best: Survivor | None, missing_ranges, overflowed: Sequence[str]) -> str:
    """What the statistics mean, in a few sentences of markdown. ``stats``: a search's
    ``SieveStats`` or several families' ``SearchStats`` (both carry the same figures)."""
    lines = [
        f"A search of this size ({stats.hypotheses:,} hypotheses) finds "
        f"{stats.expected_false_survivors:.3g} survivors by chance in draws with no generator "
        f"behind them; it found {stats.survivor_count}."
    ]
    if stats.significant and best is not None:
        found = f"seed {best.seed}" if best.seed is not None else "state"
        lines.append(
            f"**Significant**: the best survivor ({best.family}, {found}) has a search-wide "
            f"p-value {p_value_text(best.p_value)}, the chance that any hypothesis of this "
            f"search matches as well by luck."
        )
    elif stats.significant:  # none shown (--top 0): the statistics still speak
        lines.append(
            f"**Significant**: a survivor (none shown) has a search-wide p-value below "
            f"{SIGNIFICANCE_LEVEL}, the chance that any hypothesis of this search matches as "
            f"well by luck."
        )
    else:
        lines.append(
            f"**Nothing significant**: no survivor has a search-wide p-value below "
            f"{SIGNIFICANCE_LEVEL}; every one is consistent with chance for a search this size, "
            "and its predictions are chance-level."
        )
    if not stats.complete:
        lines.append(f"**Incomplete**: {incompleteness(missing_ranges, overflowed)}.")
    return "\n\n".join(lines)


def families_verdict(together) -> str:
    """What searching several families together means for the best of their survivors (a
    :class:`~mimicry.answers.SieveAnswers`), one sentence of markdown."""
    best, p_value = together.best, together.best_p_value_across_families
    names = ", ".join(answer.job.family for answer in together.answers)
    hypotheses = sum(answer.stats.hypotheses for answer in together.answers)
    if best is None:
        return f"Searched together ({names}): no family has a survivor."
    found = f"seed {best.seed}" if best.seed is not None else "state"
    judged = "**Significant**" if p_value < SIGNIFICANCE_LEVEL else "**Nothing significant**"
    return (
        f"{judged} across the families searched together ({names}; {hypotheses:,} hypotheses "
        f"in all): the best survivor ({best.family}, {found}) has a p-value "
        f"{p_value_text(p_value)} counting them all (each family's p-value above counts only "
        "its own)."
    )


def family_table(families) -> str:
    """Per-family statistics of a run, as a markdown table."""
    rows = [
        "| family | candidates | hypotheses | chance survivors | survivors | best p | complete |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in families:
        best = "-" if f.best_p_value is None else p_value_cell(f.best_p_value)
        rows.append(
            f"| {f.family} | {f.candidates_tested:,} | {f.hypotheses:,} | "
            f"{f.expected_false_survivors:.3g} | {f.survivor_count} | {best} | {f.complete} |"
        )
    return "\n".join(rows)


def summary_markdown(answer) -> str:
    """The sieve summary of a run (:class:`mimicry.answers.RunAnswer`)."""
    return (
        f"# Sieve of run `{answer.run_id}`\n\n{answer.verdict}\n\n{family_table(answer.families)}\n"
    )


def history_line(
    stream: str, total: int, first: int, held_out: int | None, added: int | None = None
) -> str:
    """What a run searches: the stream's draws (``added`` by this run's file, if it had one),
    from draw ``first``, and the newest ``held_out`` kept for the test (None: not ranked)."""
    file = "" if added is None else f" ({added:,} added from the run's file)"
    searched = total - first
    split = (
        f"all {searched:,} searched, none held out (not ranked)"
        if held_out is None
        else f"{searched - held_out:,} to search and rank, the newest {held_out:,} held out "
        "for Step 5's test"
    )
    return f"Stream {stream!r} holds {total:,} draws{file}; from draw {first:,}: {split}"


def search_line(candidates: int, hypotheses: int, seconds: float) -> str:
    return f"{candidates:,} candidates, {hypotheses:,} hypotheses in {seconds:.2f} s of sieving."


def window_choice_line(family: str, choice) -> str:
    """What Step 1 decided for a family (a :class:`mimicry.search.window.WindowChoice`) and why."""
    config = choice.config
    kind = "variable" if config.variable_skip else "constant"
    matches = "all" if config.min_matches is None else config.min_matches
    searched = (
        f"; best of {choice.trials} trials: -log10 p = {choice.best_significance:.3g}"
        if choice.trials
        else ""
    )
    return (
        f"Step 1, {family}: {choice.source} window {config.window_start}+{config.window_size}, "
        f"offsets {config.offsets[0]}..{config.offsets[1]}, skips {config.skips[0]}.."
        f"{config.skips[1]} ({kind}), min matches {matches}{searched}"
    )


def chunk_line(summary) -> str:
    """A chunk task's result (a :class:`mimicry.search.chunks.ChunkSummary`)."""
    found = "found in the ledger" if not summary.new else f"sieved in {summary.seconds:.2f} s"
    if summary.backend:
        found += f" by the {summary.backend} backend"
    overflow = ", survivor buffer overflowed" if summary.overflow else ""
    matches = f"{summary.match_count} window match{'' if summary.match_count == 1 else 'es'}"
    return (
        f"chunk {summary.lo}..{summary.hi}: {matches}, {found} "
        f"on {summary.worker or 'this process'}{overflow}"
    )


def verdict_line(answer) -> str:
    """The verdict of a run's searches on one line."""
    return "Step 2: " + answer.verdict.replace("**", "").replace("\n\n", " ")


def result_state(answer) -> tuple[str, str]:
    """A run's final state in the UI and in ``prefect deployment run --watch``: a short name
    and one sentence (docs/design.md §22). ``answer``: a ``RunAnswer`` (search, or ranked)."""
    stats = answer.stats
    best = answer.survivors[0] if answer.survivors else None
    if stats.significant and best is not None:
        found = f"seed {best.seed}" if best.seed is not None else "a state"
        searched = (
            f"Found {best.family} {found} among {stats.hypotheses:,} hypotheses "
            f"(search-wide p {p_value_text(best.p_value)})"
        )
    elif stats.significant:
        searched = f"Found a significant survivor among {stats.hypotheses:,} hypotheses"
    else:
        searched = f"Nothing significant among {stats.hypotheses:,} hypotheses"
    if answer.model is None:
        return ("Significant" if stats.significant else "Nothing significant"), searched + "."
    name, ranked = ranking_result(answer.signal, answer.model)
    return name, f"{searched}; {ranked}."
