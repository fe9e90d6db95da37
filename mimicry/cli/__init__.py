"""The ``mimicry`` command line: one typer app, its commands in one module per area."""

from mimicry.settings import apply_prefect_defaults

apply_prefect_defaults()  # before any command module imports Prefect

from mimicry.cli import predict as _predict  # noqa: E402, F401  (each registers its commands)
from mimicry.cli import run as _run  # noqa: E402, F401
from mimicry.cli import sieve as _sieve  # noqa: E402, F401
from mimicry.cli import store as _store  # noqa: E402, F401
from mimicry.cli.common import EXIT_BAD_INPUT, app, fail  # noqa: E402

__all__ = ["EXIT_BAD_INPUT", "app", "fail"]
