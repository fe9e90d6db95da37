"""Sieve backends: one interface, ``sieve_chunk(job, lo, hi) -> ChunkResult``.

Every backend returns the same window matches in the same canonical order (candidate, offset,
skip) for the same chunk, so chunks can be split, cached, retried and merged freely and
backends swapped without touching callers.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import ClassVar, Protocol

from gpu_kernels.job import ChunkResult, SieveJob

BACKEND_NAMES = ("reference", "cpu", "gpu")


@cache
def kernel_version() -> str:
    """Names the code that decides a chunk's matches: a digest of everything under
    ``gpu_kernels`` (the generator registry, the job and its window semantics, the backends and
    their kernel sources) and the installed mimicry version.

    Chunk caches and the coverage ledger are keyed on it, so a chunk computed by other code is
    never reused. Any edit to those files changes it, which is conservative on purpose.
    """
    root = Path(__file__).resolve().parents[2]
    sources = sorted((root / "gpu_kernels").rglob("*.py"))
    for pattern in ("*.cu", "*.cuh", "*.h", "*.c"):  # the CUDA and C kernel sources
        sources += sorted((root / "gpu_kernels").rglob(pattern))
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    try:
        release = version("mimicry")
    except PackageNotFoundError:  # a source tree that was never installed
        release = "0+unknown"
    return f"{release}-{digest.hexdigest()[:12]}"


def default_kernel_cache() -> Path:
    """``$XDG_CACHE_HOME/mimicry/kernels`` (``~/.cache`` without it): the kernels and numba's
    compiled copies of them outlive a process, so the next one loads instead of compiling."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mimicry" / "kernels"


class BackendUnavailable(RuntimeError):
    """The backend cannot run on this machine; the message says why and what to install."""


class SieveBackend(Protocol):
    name: str
    #: Dask resources each chunk task needs (``{"GPU": 1}``: only workers started with
    #: ``--resources GPU=1`` take it); empty where any worker will do.
    dask_resources: ClassVar[dict[str, int]]
    #: Hypotheses a chunk holds when the caller sets no chunk size: seconds of work on this
    #: backend, so that a chunk's task bookkeeping (a Prefect task run costs 0.1–0.25 s of CPU)
    #: stays a few per cent of it (see :func:`mimicry.search.sieve.default_chunk_size`).
    chunk_hypotheses: int
    #: The smallest and largest default chunk, in candidates: progress and retries stay fine
    #: grained for jobs with many hypotheses per candidate, and a cheap job still makes chunks
    #: worth a task.
    chunk_candidates: tuple[int, int]

    def sieve_chunk(self, job: SieveJob, lo: int, hi: int) -> ChunkResult:
        """Sieve candidates ``[lo, hi)`` of ``job`` and return their window matches."""
        ...

    def sieve_chunks(self, jobs: Sequence[SieveJob], lo: int, hi: int) -> list[ChunkResult]:
        """Candidates ``[lo, hi)`` of each job, in the jobs' order: what ``sieve_chunk`` returns
        for each, with work shared between jobs where the backend can (the cpu backend: one
        prefilter pass for families with the same seeding)."""
        ...


def backend_type(name: str) -> type[SieveBackend]:
    """The class of the backend called ``name``, not started: what a flow reads (chunk sizes)
    on a machine that may not be able to run it (GPU chunks sent to other hosts' workers)."""
    if name == "reference":
        from gpu_kernels.backends.reference import ReferenceBackend

        return ReferenceBackend
    if name == "cpu":
        from gpu_kernels.backends.cpu import CpuBackend

        return CpuBackend
    if name == "gpu":
        from gpu_kernels.backends.gpu import GpuBackend

        return GpuBackend
    raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(BACKEND_NAMES)}")


def get_backend(
    name: str,
    kernel_cache: Path | None = None,
    *,
    gpu_target: str = "device",
    native_kernels: bool = True,
) -> SieveBackend:
    """The backend called ``name``; :class:`BackendUnavailable` if it cannot run here.
    ``kernel_cache``: where compiled kernels are kept (default :func:`default_kernel_cache`);
    ``gpu_target``: the gpu backend's ``device`` or ``host``; ``native_kernels``: the cpu
    backend may use its compiled prefilter. The caller reads them from its settings (this layer
    reads no environment)."""
    backend = backend_type(name)
    if name == "gpu":
        return backend(kernel_cache=kernel_cache, target=gpu_target)
    if name == "cpu":
        return backend(kernel_cache=kernel_cache, native_kernels=native_kernels)
    return backend(kernel_cache=kernel_cache)
