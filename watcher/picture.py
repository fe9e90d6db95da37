"""The stream-health picture: above, the rolling hit rate of the stream's scored predictions
against the chance band of K/M and the current run's calibrated P(hit), with the runs (searches
and retrains) and the change point marked; below, the calibration of P(hit) over time: each run's
anytime-valid p-value that its promise holds (the calibration-drift trigger's own reading,
docs/design.md §20) against alpha. One PNG, written under ``MIMICRY_HOME/health/`` for the
terminal user and shown as an image artifact in the Prefect UI."""

from __future__ import annotations

import io
from pathlib import Path

from mimicry.binomial import quantile
from mimicry.names import stream_label
from mimicry.ranking.health import sequential_calibration_p_values
from mimicry.render.pictures import load_pyplot, save_png
from mimicry.store.watch import HealthSeries, health_series


def calibration_segments(series: HealthSeries) -> list[tuple[list[int], list[float]]]:
    """Per run with signal, in order: the positions of its scored draws and the anytime-valid
    p-value of its promise after each (a run without signal promised nothing to test)."""
    segments: dict[str, tuple[list[int], list[float], list[bool]]] = {}
    for index, run_id in enumerate(series.run_ids):
        if series.signal[index]:
            positions, promised, hits = segments.setdefault(run_id, ([], [], []))
            positions.append(series.positions[index])
            promised.append(series.promised_low[index])
            hits.append(series.hits[index])
    return [
        (positions, sequential_calibration_p_values(promised, hits).tolist())
        for positions, promised, hits in segments.values()
    ]


def health_png(series: HealthSeries, window: int, change_point: int | None, alpha: float) -> bytes:
    """The picture as PNG bytes (matplotlib, no display)."""
    pyplot = load_pyplot()

    figure, (axes, below) = pyplot.subplots(
        2, 1, figsize=(9, 5.6), dpi=100, sharex=True, height_ratios=(3, 2)
    )
    if series.positions:
        rates, lows, highs = [], [], []
        for index in range(len(series.positions)):
            recent = series.hits[max(0, index + 1 - window) : index + 1]
            chance = series.chance[index]
            rates.append(sum(recent) / len(recent))
            lows.append(quantile(0.025, len(recent), chance) / len(recent))
            highs.append(quantile(0.975, len(recent), chance) / len(recent))
        axes.fill_between(series.positions, lows, highs, color="0.85", label="chance, 95 %")
        axes.plot(series.positions, series.promised, color="tab:green", lw=1, label="promised")
        axes.plot(
            series.positions, rates, color="tab:blue", lw=1.5, label=f"hit rate (last {window})"
        )
    for position, kind in series.runs:
        for panel in (axes, below):
            panel.axvline(
                position, color="tab:purple" if kind == "search" else "tab:orange", lw=0.8
            )
    if change_point is not None:
        axes.axvline(change_point, color="tab:red", ls="--", lw=1, label="change point")
    axes.set_ylim(-0.02, 1.02)
    axes.set_ylabel("P(hit)")
    axes.set_title(f"{series.stream}: rolling hit rate (searches purple, retrains orange)")
    if series.positions or change_point is not None:
        axes.legend(loc="lower left", fontsize=8)
    else:
        axes.text(0.5, 0.5, "no draw scored yet", ha="center", transform=axes.transAxes)
    segments = calibration_segments(series)
    for number, (positions, p_values) in enumerate(segments):
        below.step(
            positions, p_values, where="post", color="tab:green", lw=1.5,
            label="anytime-valid p against the promise" if number == 0 else None,
        )  # fmt: skip
    below.axhline(alpha, color="tab:red", ls="--", lw=1, label=f"alpha {alpha:g}: drift")
    below.set_yscale("log")
    lowest = min((min(p) for _, p in segments), default=1.0)
    below.set_ylim(min(lowest, alpha) / 3, 1.5)
    below.set_xlabel("draw")
    below.set_ylabel("p (log)")
    below.set_title("calibration of P(hit): each run with signal held to its promise", fontsize=10)
    below.legend(loc="lower left", fontsize=8)
    if not segments:
        below.text(
            0.5, 0.5, "no run with signal scored yet: nothing was promised",
            ha="center", transform=below.transAxes,
        )  # fmt: skip
    # Fixed margins for this fixed size: tight_layout measures every text by drawing the figure
    # once more, a quarter of a picture every WATCHER tick draws (0.21 against 0.16 s, medians
    # of 5, a 200-draw stream).
    figure.subplots_adjust(left=0.075, right=0.985, top=0.945, bottom=0.085, hspace=0.2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


def picture_path(home: Path, stream: str) -> Path:
    """Where a stream's picture is written (two streams never share a file)."""
    return home / "health" / f"{stream_label(stream)}.png"


def write_health_picture(
    stream: str, window: int, change_point: int | None, home: Path, alpha: float
) -> tuple[str, bytes]:
    """Draw the stream's picture from the store and write it under ``home/health``
    (``MIMICRY_HOME``); its path and PNG bytes."""
    png = health_png(health_series(stream), window, change_point, alpha)
    path = picture_path(home, stream)
    save_png(path, png)
    return str(path), png
