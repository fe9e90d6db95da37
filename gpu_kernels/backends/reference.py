"""The reference backend: the plain-Python sieve every other backend is checked against."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from gpu_kernels.calls import candidates_matches
from gpu_kernels.job import ChunkResult, SieveJob


class ReferenceBackend:
    name = "reference"
    dask_resources: ClassVar[dict[str, int]] = {}
    # Plain Python checks some 10^5 hypotheses a second.
    chunk_hypotheses = 1 << 16
    chunk_candidates = (1 << 6, 1 << 12)

    def __init__(self, kernel_cache: Path | None = None) -> None:
        """Plain Python compiles nothing: ``kernel_cache`` is accepted and unused."""

    def sieve_chunks(self, jobs: Sequence[SieveJob], lo: int, hi: int) -> list[ChunkResult]:
        return [self.sieve_chunk(job, lo, hi) for job in jobs]

    def sieve_chunk(self, job: SieveJob, lo: int, hi: int) -> ChunkResult:
        started = time.perf_counter()
        return ChunkResult(
            lo=lo,
            hi=hi,
            matches=candidates_matches(job, range(lo, hi)),
            candidates_tested=hi - lo,
            seconds=time.perf_counter() - started,
            backend=self.name,
        )
