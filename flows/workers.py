"""The Dask workers a waiting sieve step can use (docs/design.md §22): which joined and which left
(for the run's log), and a step that has had none for too long fails saying so, instead of
waiting for ever.

:class:`WorkerWatch` decides from what it is shown (the scheduler's worker list and the time);
:func:`scheduler_workers` is the one read of the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Seconds between two looks at the cluster's workers while a step waits for its chunks.
WATCH_SECONDS = 2.0


class NoDaskWorker(RuntimeError):
    """No worker able to run the step's chunks has been connected for the configured time."""


def usable(workers: Mapping[str, Mapping], needs: Mapping[str, float]) -> frozenset[str]:
    """The workers (by address) that offer every resource a chunk needs (a GPU chunk runs only
    on a worker started with ``GPU=1``; a chunk that needs nothing runs on any)."""
    return frozenset(
        address
        for address, info in workers.items()
        if all(
            (info.get("resources") or {}).get(name, 0) >= amount for name, amount in needs.items()
        )
    )


def connected(workers: frozenset[str]) -> str:
    return f"{len(workers)} worker{'' if len(workers) == 1 else 's'} connected"


@dataclass
class WorkerWatch:
    """What a step waiting on the cluster knows of its workers between two looks."""

    scheduler: str
    needs: Mapping[str, float]
    #: Seconds without a usable worker before the step fails (``MIMICRY_NO_WORKER_SECONDS``).
    patience: float
    known: frozenset[str] | None = None
    alone_since: float | None = field(default=None, repr=False)

    def observe(self, workers: Mapping[str, Mapping], now: float) -> list[str]:
        """Lines for the run's log on what changed since the last look; raises
        :class:`NoDaskWorker` once no usable worker has been there for ``patience`` seconds."""
        present = usable(workers, self.needs)
        lines = []
        if self.known is not None:
            for address in sorted(self.known - present):
                lines.append(
                    f"Dask worker {address} left the cluster (the chunks it held run again on "
                    f"another); {connected(present)}"
                )
            for address in sorted(present - self.known):
                lines.append(f"Dask worker {address} joined the cluster; {connected(present)}")
        if self.known is None and not present:
            lines.append(self.waiting_line())
        self.known = present
        if present:
            self.alone_since = None
        elif self.alone_since is None:
            self.alone_since = now
        elif now - self.alone_since >= self.patience:
            raise NoDaskWorker(
                f"no Dask worker{self.kind()} has been connected to the scheduler at "
                f"{self.scheduler} for {self.patience:g} s (MIMICRY_NO_WORKER_SECONDS); start "
                "one (deployments/start-dask-workers.sh) and run again: the chunks already "
                "finished are kept"
            )
        return lines

    def waiting_line(self) -> str:
        return (
            f"no Dask worker{self.kind()} is connected to the scheduler at {self.scheduler}: "
            f"waiting up to {self.patience:g} s for one"
        )

    def kind(self) -> str:
        return "".join(f" with {name}={amount:g}" for name, amount in self.needs.items())


def scheduler_workers(client) -> dict[str, dict]:
    """The scheduler's workers as it lists them now (a Dask client's one round trip)."""
    return dict(client.scheduler_info(n_workers=-1).get("workers", {}))
