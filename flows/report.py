"""What a run tells people: one combined answer from the per-family results, and its words.

The same text serves the Prefect UI (markdown and table artifacts) and the CLI, so the two
can never say different things about the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Failed, State

from mimicry.jobs import SieveResult, Survivor
from mimicry.sieve import continue_survivors
from mimicry.statistics import SIGNIFICANCE_LEVEL, p_value_text


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
            f"search-wide p-value {p_value_text(survivor.p_value)}, the chance that any "
            f"hypothesis of this search matches as well by luck."
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


def sieve_answer(
    run_id: str,
    results: list[SieveResult],
    top: int,
    choices: dict,
    history: Sequence[int],
    predict: int,
) -> dict:
    """Publish the sieve's artifacts and build its part of the ``--json`` answer.

    The pipeline sieves the training draws; each shown survivor's ``next`` is recomputed past
    the stream's newest draw, as ``mimicry sieve`` reports it.
    """
    stats = combined_stats(results)
    survivors = [
        continued
        for result in results
        for continued in continue_survivors(history, result.job, result.survivors, predict)
    ]
    survivors.sort(key=lambda s: (-s.evidence, s.p_value))
    survivors = survivors[:top]
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
        "window_choices": choices,
    }
    if len(results) == 1:
        answer["job"] = answer["jobs"][0]
    return answer


def incomplete(answer: dict) -> State:
    """Never silently partial: the flow run fails (CI watching it sees a non-zero exit), and
    the answer still travels with the state for whoever reads it."""
    return Failed(message=f"incomplete sieve: {incompleteness(answer['stats'])}", data=answer)


def incompleteness(stats: dict) -> str:
    missing = stats["missing_ranges"]
    if missing:
        return "; ".join(
            f"{family} candidates {', '.join(f'{lo}..{hi}' for lo, hi in ranges)} not searched"
            for family, ranges in missing.items()
        )
    return "a survivor buffer overflowed, so some survivors were dropped"


def ranking_artifacts(selection, report, prediction) -> None:
    """Model comparison, training diagnostics, feature importance, the null, the prediction."""
    create_table_artifact(
        key="model-selection",
        table=[
            {
                "model": r.model_type,
                "validation gain (nats/draw)": f"{r.valid_mean:.4f}",
                "fold spread": f"{r.valid_spread:.4f}",
                "train/validation gap": f"{r.gap:.4f}",
                "trials": r.trials,
                "winner": r.model_type == selection.winner,
            }
            for r in selection.results
        ],
        description="Walk-forward validation of each model type (time-ordered folds)",
    )
    create_table_artifact(
        key="training-diagnostics",
        table=report.diagnostics or [{"note": "no per-step diagnostics"}],
        description=f"{report.model_type}: loss per epoch or boosting round (last fold)",
    )
    create_table_artifact(
        key="feature-importance",
        table=[
            {"feature": name, "importance": f"{value:.4f}"}
            for name, value in sorted(report.importance.items(), key=lambda kv: -kv[1])
        ],
        description=f"{report.model_type}: importance per feature",
    )
    null = report.null
    create_markdown_artifact(
        key="signal-gate",
        markdown=(
            f"# {'Signal' if report.signal else 'No signal'}\n\n{report.signal_reason}.\n\n"
            f"* Validation pools: {report.validation.hits}/{report.validation.draws} hits "
            f"(chance {report.validation.chance:.3g}, "
            f"p {p_value_text(report.validation.p_value)}); "
            f"gain {report.validation.gain_per_draw:.4f} nats/draw, fold spread "
            f"{report.validation_spread:.4f}, train/validation gap {report.validation_gap:.4f}.\n"
            f"* Permutation null: {null.permutations} label shuffles, gains from "
            f"{min(null.null_gains):.4f} to {max(null.null_gains):.4f}; "
            f"p {p_value_text(null.p_value)}.\n"
            f"* Test split (held out, evaluated once): {report.test.hits}/{report.test.draws} "
            f"hits (chance {report.test.chance:.3g}, p {p_value_text(report.test.p_value)}), gain "
            f"{report.test.gain_per_draw:.4f} nats/draw.\n"
        ),
        description="Does the ranking beat chance and its permutation null?",
    )
    create_markdown_artifact(
        key="prediction",
        markdown=(
            f"# Next draw of `{prediction.stream}` (position {prediction.position})\n\n"
            f"{prediction.statement}\n\nPool: {' '.join(map(str, prediction.pool))}\n"
        ),
        description="The pool for the next draw and its calibrated chance of a hit",
    )


def ranking_answer(selection, report, prediction, population) -> dict:
    return {
        "signal": prediction.signal,
        "model": {
            "winner": selection.winner,
            "params": selection.params,
            "types": [
                {
                    "model_type": r.model_type,
                    "validation_gain": r.valid_mean,
                    "fold_spread": r.valid_spread,
                    "gap": r.gap,
                    "trials": r.trials,
                }
                for r in selection.results
            ],
            "signal_reason": report.signal_reason,
            "null_p_value": report.null.p_value,
            "validation": report.validation.model_dump() | {"p_value": report.validation.p_value},
            "test": report.test.model_dump()
            | {"p_value": report.test.p_value, "hit_rate": report.test.hit_rate},
        },
        "ranking": [
            {"hypothesis": population[h].label(), "source": population[h].source, "score": score}
            for h, score in report.ranking[:10]
        ],
        "prediction": prediction.model_dump(mode="json", exclude={"distribution"}),
    }
