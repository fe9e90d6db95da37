"""A run's training in one picture (docs/design.md §20): the learning curves of the monitored fit
(train and validation loss per step, and the MLP's gradient norm), the feature importance, and
why the first hypotheses rank first. PNG via matplotlib (no display); the raw tables stay in the
store and the run's table artifacts for tools."""

from __future__ import annotations

import io
from pathlib import Path

from mimicry.names import stream_label


def load_pyplot():
    """matplotlib's pyplot, drawing without a display (Agg). Imported when a picture is drawn
    (a command that draws none does not pay for it), or by a flow's module as it loads
    (flows/watcher.py says why)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def training_png(report, title: str) -> bytes:
    """The picture of :class:`mimicry.ranking.training.TrainingReport` ``report``."""
    pyplot = load_pyplot()

    figure, (curves, importance, why) = pyplot.subplots(1, 3, figsize=(15, 4), dpi=100)
    steps = [entry["step"] for entry in report.diagnostics]
    train = [entry["train_loss"] for entry in report.diagnostics]
    valid = [entry.get("valid_loss") for entry in report.diagnostics]
    if steps:
        curves.plot(steps, train, color="tab:blue", lw=1.5, label="train loss")
        if any(v is not None for v in valid):
            curves.plot(steps, valid, color="tab:orange", lw=1.5, label="validation loss")
        norms = [entry.get("grad_norm") for entry in report.diagnostics]
        if any(n is not None for n in norms):
            gradient = curves.twinx()
            gradient.plot(steps, norms, color="0.6", lw=0.8, label="gradient norm")
            gradient.set_ylabel("gradient norm", color="0.4")
        curves.legend(loc="upper right", fontsize=8)
    else:
        curves.text(0.5, 0.5, "no per-step diagnostics", ha="center", transform=curves.transAxes)
    curves.set_xlabel("epoch" if report.model_type == "mlp" else "boosting round")
    curves.set_ylabel("loss")
    curves.set_title(f"{report.model_type}: learning curves ({report.health_severity.value})")

    ranked = sorted(report.importance.items(), key=lambda item: item[1])
    importance.barh([name for name, _ in ranked], [value for _, value in ranked], color="tab:green")
    importance.set_title("feature importance")
    importance.tick_params(axis="y", labelsize=7)

    if report.attribution:
        first = report.attribution[0]
        shares = list(reversed(first.shares[:8]))
        why.barh(
            [share.feature for share in shares],
            [share.share for share in shares],
            color=["tab:blue" if share.share >= 0 else "tab:red" for share in shares],
        )
        why.axvline(0, color="0.3", lw=0.8)
        why.set_title(f"why #1 ranks first ({first.scale})", fontsize=9)
        why.set_xlabel(first.hypothesis[:60], fontsize=7)
        why.tick_params(axis="y", labelsize=7)
    else:
        why.text(0.5, 0.5, "no attribution", ha="center", transform=why.transAxes)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


def training_picture_path(home: Path, stream: str, run_id: str) -> Path:
    """Where a run's training picture is written under ``MIMICRY_HOME``."""
    return home / "training" / stream_label(stream) / f"{run_id}.png"


def save_png(path: Path, png: bytes) -> None:
    """Write a picture atomically: a reader (a person's viewer, the next tick) never sees half a
    file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".png.tmp")
    temporary.write_bytes(png)
    temporary.replace(path)


def png_data_url(png: bytes) -> str:
    """A picture as a data URL: a Prefect image artifact shows it without reaching the files of
    the machine that drew it."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode()
