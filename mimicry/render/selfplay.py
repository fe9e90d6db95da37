"""Selfplay in words, a table and a picture (docs/design.md §21): what ``mimicry selfplay``
prints, the selfplay flow's artifacts and log lines. Each reads the answer as
``mimicry selfplay --json`` prints it."""

from __future__ import annotations

import io
from typing import Any

from mimicry.render.text import plain_markdown, plain_text

#: Few and narrow enough for the UI's artifact pane (the configuration is the one long cell).
SELFPLAY_COLUMNS = (
    "episode",
    "row",
    "configuration",
    "exploration",
    "confirmation",
    "p",
    "verdict",
)


def configuration_text(candidate: dict[str, Any]) -> str:
    """A candidate's knobs in one short line (what a person compares at a glance)."""

    def span(value) -> str:
        return "0" if not value else f"{value[0]}..{value[1]}"

    parts = [
        "+".join(candidate.get("families") or []),
        f"window {candidate.get('window') or 'auto'}@{candidate.get('window_start') or 'auto'}",
        f"offsets {span(candidate.get('offsets'))}",
        f"skip {span(candidate.get('skip'))}"
        + (" variable" if candidate.get("variable_skip") else ""),
        f"pool {candidate.get('pool_size')}",
    ]
    return ", ".join(parts)


def _hits(score: dict | None) -> str:
    if not score:
        return "-"
    return f"{score['hits']}/{score['draws']}"


def selfplay_rows(answer: dict[str, Any]) -> list[dict[str, str]]:
    """Two rows per episode: the champion's replay, then the candidate's."""
    rows = []
    for episode in answer["episodes"]:
        champion = episode["champion"]
        p_value = episode.get("p_value")
        rows += [
            dict(zip(SELFPLAY_COLUMNS, cells, strict=True))
            for cells in [
                [
                    str(episode["id"]),
                    f"champion v{episode['champion_version']}",
                    configuration_text(champion["candidate"]),
                    _hits(champion["exploration"]),
                    _hits(champion["confirmation"]),
                    "-",
                    "-",
                ],
                [
                    str(episode["id"]),
                    f"candidate ({episode['source']})",
                    configuration_text(episode["candidate"]),
                    _hits(episode["exploration"]),
                    _hits(episode.get("confirmation")),
                    "-" if p_value is None else f"{p_value:.3g}",
                    episode["verdict"],
                ],
            ]
        ]
    return rows


def selfplay_line(answer: dict[str, Any]) -> str:
    """The result in one sentence."""
    stream = plain_text(answer["stream"])
    episodes = answer["episodes"]
    seconds = sum(e["cpu_seconds"] for e in episodes)
    promoted = answer.get("promoted")
    ran = f"{len(episodes)} episode{'s' * (len(episodes) != 1)} on {stream}"
    ran += f", {seconds:.0f} CPU-seconds of replays"
    if promoted:
        gate = promoted["evidence"]["gate"]
        waiting = " (waiting for a person's approval)" if promoted["state"] == "proposed" else ""
        return (
            f"{ran}: promoted champion {promoted['version']}{waiting}, "
            f"{gate['candidate_hits']}/{gate['draws']} replay hits against the champion's "
            f"{gate['champion_hits']} (p = {gate['p_value']:.3g}, level {gate['level']:.3g})."
        )
    stopped = answer.get("stopped")
    reason = f" ({plain_text(stopped)})" if stopped else ""
    return f"{ran}: no promotion{reason}."


def selfplay_markdown(answer: dict[str, Any]) -> str:
    """The Prefect artifact: the sentence, the table, then each row's configuration (the one long
    cell: in the table it pushed the verdict out of the UI's pane, which does not wrap cells)."""
    rows = selfplay_rows(answer)
    columns = [c for c in SELFPLAY_COLUMNS if c != "configuration"]
    header = "| " + " | ".join(columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(plain_markdown(row[c]) for c in columns) + " |" for row in rows]
    configurations = [
        f"- {plain_markdown(row['episode'])}, {plain_markdown(row['row'])}: "
        + plain_markdown(row["configuration"])
        for row in rows
    ]
    return "\n".join(
        [plain_markdown(selfplay_line(answer)), "", header, rule, *body, "", *configurations]
    )


def selfplay_png(answer: dict[str, Any]) -> bytes:
    """Replay hits per origin of the champion and each candidate (left), and each tested
    candidate's gate p-value against its level (right)."""
    from mimicry.render.pictures import load_pyplot

    pyplot = load_pyplot()

    figure, (origins, gates) = pyplot.subplots(1, 2, figsize=(12, 4), dpi=100)

    def points(*scores: dict | None) -> list[tuple[int, int]]:
        return sorted(
            (origin["origin"], sum(origin["hits"]))
            for score in scores
            if score
            for origin in score.get("origins", [])
        )

    for episode in answer["episodes"]:
        champion = points(episode["champion"]["exploration"], episode["champion"]["confirmation"])
        if champion:
            xs, ys = zip(*champion, strict=True)
            origins.plot(xs, ys, "k-o", lw=2, alpha=0.5)
        candidate = points(episode["exploration"], episode.get("confirmation"))
        if candidate:
            xs, ys = zip(*candidate, strict=True)
            origins.plot(xs, ys, "--.", lw=1, label=f"episode {episode['id']}")
    origins.set_xlabel("replay origin (draw index)")
    origins.set_ylabel("hits in the draws after it")
    origins.set_title("replay score per origin (champion: black)")
    if len(origins.get_lines()) <= 12:
        origins.legend(fontsize=7)
    tested = [
        (e["id"], e["p_value"], e["gate"]["level"])
        for e in answer["episodes"]
        if e.get("p_value") is not None and e.get("gate")
    ]
    if tested:
        ids = [str(i) for i, _, _ in tested]
        # Points, not bars: a bar on a log scale starts nowhere and reads as full.
        gates.plot(ids, [p for _, p, _ in tested], "o", color="tab:blue", label="p-value")
        gates.plot(ids, [level for _, _, level in tested], "r_", ms=20, mew=2, label="level")
        gates.set_yscale("log")
        gates.legend(fontsize=7)
    gates.set_xlabel("episode")
    gates.set_title("the gate: p-value against its level")
    figure.suptitle(f"selfplay on {plain_text(answer['stream'])}")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()
