"""The GPU backend (CUDA C through CuPy, HIP through hipRTC) plugs in here.

Until its kernels land, asking for it fails with a clear reason instead of falling back
silently to another backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from gpu_kernels.backends import BackendUnavailable
from gpu_kernels.job import ChunkResult, SieveJob


class GpuBackend:
    name = "gpu"
    dask_resources: ClassVar[dict[str, int]] = {"GPU": 1}
    chunk_hypotheses = 1 << 34
    chunk_candidates = (1 << 22, 1 << 28)

    def __init__(self, kernel_cache: Path | None = None) -> None:
        raise BackendUnavailable(
            "the gpu backend is not built yet in this release; use --backend cpu "
            "(numba, all cores) or --backend reference"
        )

    def sieve_chunk(self, job: SieveJob, lo: int, hi: int) -> ChunkResult:  # pragma: no cover
        raise BackendUnavailable("the gpu backend is not built yet in this release")
