"""TensorBoard event files of a run's training, for a person (docs/design.md §20): the learning
curves of the monitored fit, the feature importance and the health findings. Written through
PyTorch's ``SummaryWriter`` when the ``tensorboard`` extra is installed; nothing in mimicry
reads them back (the store and the pictures are what the WATCHER and the UI read)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mimicry.names import stream_label

MISSING = "TensorBoard is not installed: pip install 'mimicry[tensorboard]'"


def require_tensorboard() -> None:
    """ValueError (one sentence) unless the event writer can be imported."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ValueError(MISSING)


def training_events_path(directory: Path, stream: str, run_id: str) -> Path:
    """A run's event folder: ``<directory>/<stream>/<run>`` (TensorBoard lists runs by folder)."""
    return directory / stream_label(stream) / run_id


def write_training_events(report, directory: Path, stream: str, run_id: str) -> Path:
    """Event files of :class:`mimicry.ranking.training.TrainingReport` ``report``: per step
    ``loss/train``, ``loss/validation`` and ``gradient_norm``; ``importance/<feature>``; the
    health findings and the attribution as text. Returns the run's event folder."""
    from torch.utils.tensorboard import SummaryWriter

    from mimicry.render.health import finding_lines, why_line

    path = training_events_path(directory, stream, run_id)
    path.mkdir(parents=True, exist_ok=True)
    with SummaryWriter(log_dir=str(path)) as writer:
        for entry in report.diagnostics:
            step = int(entry["step"])
            writer.add_scalar("loss/train", entry["train_loss"], step)
            for key, tag in (("valid_loss", "loss/validation"), ("grad_norm", "gradient_norm")):
                if entry.get(key) is not None:
                    writer.add_scalar(tag, entry[key], step)
        for feature, share in report.importance.items():
            writer.add_scalar(f"importance/{feature}", share, 0)
        fits = [fit.model_dump(mode="json") for fit in report.health]
        findings = finding_lines(fits) or ["every check ok"]
        heading = f"{report.model_type}: {report.health_severity.value}"
        writer.add_text("health", as_code_spans([heading, *findings]))
        if report.attribution:
            whys = [why_line(why.model_dump(mode="json")) for why in report.attribution]
            writer.add_text("why", as_code_spans(whys))
    return path


def as_code_spans(lines: list[str]) -> str:
    """TensorBoard renders text as markdown: each line in a code span is shown as written."""
    return "\n\n".join("`" + line.replace("`", "'") + "`" for line in lines)
