"""Make chosen chunks of the cpu backend fail (see ``sitecustomize``; in-process tests patch
``CpuBackend.sieve_chunk`` with :func:`failing` through pytest's monkeypatch)."""

from __future__ import annotations

from pathlib import Path


class InjectedFault(RuntimeError):
    """A failure the tests asked for."""


#: ``PYTHONPATH`` for a process that should load the fault injection (and find ``tests``).
FAULT_PATH = f"{Path(__file__).parent}:{Path(__file__).parents[2]}"


def failing(real, fail_first_attempt: bool = False, fail_chunks=frozenset()):
    """``real`` (a backend's ``sieve_chunk``), failing the chunks the test chose."""

    def sieve_chunk(self, job, lo, hi):
        from prefect.runtime import task_run

        if fail_first_attempt and (task_run.run_count or 1) == 1:
            raise InjectedFault(f"injected failure of chunk {lo}..{hi} (first attempt)")
        if lo in fail_chunks:
            raise InjectedFault(f"injected failure of chunk {lo}..{hi} (every attempt)")
        return real(self, job, lo, hi)

    return sieve_chunk


def install(fail_first_attempt: bool = False, fail_chunks=frozenset()) -> None:
    from gpu_kernels.backends.cpu import CpuBackend

    CpuBackend.sieve_chunk = failing(CpuBackend.sieve_chunk, fail_first_attempt, fail_chunks)
