"""What a run tells people: one combined answer from the per-family results, and its words.

The same text serves the Prefect UI (markdown and table artifacts) and the CLI, so the two
can never say different things about the same numbers.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Failed

from mimicry.jobs import SieveResult, Survivor
from mimicry.statistics import SIGNIFICANCE_LEVEL
from tasks.runs import close_run


def ranked_survivors(results: list[SieveResult], top: int) -> list[Survivor]:
    """All families' survivors, best first: most evidence, then the smallest p-value."""
    survivors = [s for result in results for s in result.survivors]
    survivors.sort(key=lambda s: (-s.evidence, s.p_value))
    return survivors[:top]


def combined_stats(results: list[SieveResult]) -> dict:
    seconds = sum(r.stats.seconds for r in results)
    tested = sum(r.stats.candidates_tested for r in results)
    return {
        "candidates_tested": tested,
        "hypotheses": sum(r.stats.hypotheses for r in results),
        "seconds": seconds,
        "candidates_per_second": tested / seconds if seconds > 0 else 0.0,
        "expected_false_survivors": sum(r.stats.expected_false_survivors for r in results),
        "survivor_count": sum(r.stats.survivor_count for r in results),
        "significant": any(r.stats.significant for r in results),
        "complete": all(r.stats.complete for r in results),
        "missing_ranges": {
            r.job.family: r.stats.missing_ranges for r in results if r.stats.missing_ranges
        },
    }


def survivor_rows(survivors: list[Survivor]) -> list[dict]:
    return [
        {
            "family": s.family,
            "seed or state": s.seed if s.seed is not None else s.state,
            "offset": s.offset,
            "skip": s.skip,
            "window": f"{s.matches}/{s.window['size']}",
            "before": f"{s.matches_before}/{s.checked_before}",
            "after": f"{s.matches_after}/{s.checked_after}",
            "p_value": f"{s.p_value:.3g}",
            "next": " ".join(map(str, s.next)),
        }
        for s in survivors
    ]


def verdict(results: list[SieveResult]) -> str:
    """One paragraph that says what the statistics mean, in words."""
    stats = combined_stats(results)
    best = ranked_survivors(results, 1)
    expected = stats["expected_false_survivors"]
    found = stats["survivor_count"]
    lines = [
        f"A search of this size ({stats['hypotheses']:,} hypotheses) finds "
        f"{expected:.3g} survivors by chance in draws with no generator behind them; "
        f"it found {found}."
    ]
    if stats["significant"]:
        survivor = best[0]
        lines.append(
            f"**Significant**: the best survivor ({survivor.family}, "
            f"{'seed ' + str(survivor.seed) if survivor.seed is not None else 'state'}) has a "
            f"search-wide p-value of {survivor.p_value:.3g}, the chance that any hypothesis of "
            f"this search matches as well by luck."
        )
    else:
        lines.append(
            f"**Nothing significant**: no survivor has a search-wide p-value below "
            f"{SIGNIFICANCE_LEVEL}; every one is consistent with chance for a search this size, "
            "and its predictions are chance-level."
        )
    if not stats["complete"]:
        lines.append(f"**Incomplete**: {incompleteness(stats)}.")
    return "\n\n".join(lines)


def summary_markdown(results: list[SieveResult], run_id: str) -> str:
    rows = [
        "| family | candidates | hypotheses | chance survivors | survivors | best p | complete |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        best = f"{r.survivors[0].p_value:.3g}" if r.survivors else "-"
        rows.append(
            f"| {r.job.family} | {r.stats.candidates_tested:,} | {r.stats.hypotheses:,} | "
            f"{r.stats.expected_false_survivors:.3g} | {r.stats.survivor_count} | {best} | "
            f"{r.stats.complete} |"
        )
    return f"# Sieve of run `{run_id}`\n\n{verdict(results)}\n\n" + "\n".join(rows) + "\n"


def publish(run_id: str, results: list[SieveResult], top: int, choices: dict | None = None) -> dict:
    """Close the run, publish its artifacts and return the ``--json`` answer.

    ``choices`` maps each family to what Step 1 decided (a ``WindowChoice`` as JSON)."""
    stats = combined_stats(results)
    survivors = ranked_survivors(results, top)
    close_run(run_id, "completed" if stats["complete"] else "incomplete", stats)
    create_table_artifact(
        key="top-survivors",
        table=survivor_rows(survivors) or [{"result": "no survivors"}],
        description="Survivors of every family, best first (window, extensions, p-value)",
    )
    create_markdown_artifact(
        key="sieve-summary",
        markdown=summary_markdown(results, run_id),
        description="Chance statistics of the sieve and what they mean",
    )
    answer = {
        "run_id": run_id,
        "jobs": [r.job.model_dump(mode="json") for r in results],
        "survivors": [s.model_dump(mode="json") for s in survivors],
        "stats": stats,
        "verdict": verdict(results),
        "window_choices": choices or {},
    }
    if len(results) == 1:
        answer["job"] = answer["jobs"][0]
    if not stats["complete"]:
        # Never silently partial: the flow run fails (CI watching it sees a non-zero exit), and
        # the answer still travels with the state for whoever reads it.
        return Failed(message=f"incomplete sieve: {incompleteness(stats)}", data=answer)
    return answer


def incompleteness(stats: dict) -> str:
    missing = stats["missing_ranges"]
    if missing:
        return "; ".join(
            f"{family} candidates {', '.join(f'{lo}..{hi}' for lo, hi in ranges)} not searched"
            for family, ranges in missing.items()
        )
    return "a survivor buffer overflowed, so some survivors were dropped"
