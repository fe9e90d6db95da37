"""The WATCHER's steps as Prefect tasks (:mod:`watcher`, :mod:`mimicry.loop.evaluation`).
Nothing here is cached: every tick reads the store as it is now."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from mimicry.loop.evaluation import evaluate_stream
from mimicry.render import plain_markdown
from mimicry.render.pictures import png_data_url
from watcher.lifecycle import claim, expire_approvals, finished, resolve_running, started
from watcher.picture import write_health_picture
from watcher.tick import arbiter, record_halted, review_stream, stream_pool_size


def score_new_draws(stream: str, now: datetime) -> int:
    """Chapter 13: score the stream's draws that arrived since the last tick against their
    predictions, and predict the next one; how many were scored."""
    scored, _ = evaluate_stream(stream, stream_pool_size(stream, now))
    return len(scored)


def health_picture(
    stream: str, window: int, change_point: int | None, home: Path, alpha: float
) -> str:
    """The stream-health picture, written under MIMICRY_HOME and shown as an image artifact
    (a data URL: the UI shows it without reaching this machine's files); its path."""
    import hashlib

    from prefect.artifacts import create_image_artifact

    path, png = write_health_picture(stream, window, change_point, home, alpha)
    digest = hashlib.sha256(stream.encode()).hexdigest()[:12]
    create_image_artifact(
        image_url=png_data_url(png),
        key=f"stream-health-{digest}",
        description=(
            f"Stream {plain_markdown(stream)}: rolling hit rate against chance and the promise,"
            " and the calibration of P(hit) over time"
            f" ({plain_markdown(str(path))})"
        ),
    )
    return path


picture_task = task(health_picture, name="stream-health", cache_policy=NO_CACHE)
score_task = task(score_new_draws, name="score-new-draws", cache_policy=NO_CACHE)
review_task = task(review_stream, name="review-stream", cache_policy=NO_CACHE)
halted_task = task(record_halted, name="record-halted", cache_policy=NO_CACHE)
expire_task = task(expire_approvals, name="expire-approvals", cache_policy=NO_CACHE)
resolve_task = task(resolve_running, name="resolve-running", cache_policy=NO_CACHE)
claim_task = task(claim, name="claim-decision", cache_policy=NO_CACHE)
started_task = task(started, name="record-dispatch", cache_policy=NO_CACHE)
finished_task = task(finished, name="record-outcome", cache_policy=NO_CACHE)
arbiter_task = task(arbiter, name="arbiter", cache_policy=NO_CACHE)
