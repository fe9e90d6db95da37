"""Sieve backends: one interface, ``sieve_chunk(job, lo, hi) -> ChunkResult``.

Every backend returns the same window matches in the same canonical order (candidate, offset,
skip) for the same chunk, so chunks can be split, cached, retried and merged freely and
backends swapped without touching callers.
"""

from __future__ import annotations

from typing import Protocol

from mimicry.jobs import ChunkResult, SieveJob

BACKEND_NAMES = ("reference", "cpu", "gpu")


class BackendUnavailable(RuntimeError):
    """The backend cannot run on this machine; the message says why and what to install."""


class SieveBackend(Protocol):
    name: str
    #: A chunk size that keeps one chunk's work between a fraction of a second and a few seconds.
    default_chunk_size: int

    def sieve_chunk(self, job: SieveJob, lo: int, hi: int) -> ChunkResult:
        """Sieve candidates ``[lo, hi)`` of ``job`` and return their window matches."""
        ...


def get_backend(name: str) -> SieveBackend:
    """The backend called ``name``; :class:`BackendUnavailable` if it cannot run here."""
    if name == "reference":
        from gpu_kernels.backends.reference import ReferenceBackend

        return ReferenceBackend()
    if name == "cpu":
        from gpu_kernels.backends.cpu import CpuBackend

        return CpuBackend()
    if name == "gpu":
        from gpu_kernels.backends.gpu import GpuBackend

        return GpuBackend()
    raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(BACKEND_NAMES)}")
