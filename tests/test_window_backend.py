"""Step 1's trials sieve on the backend the run names (docs/design.md §14.1), as Step 2 does.

The gpu backend runs here on its host target (``MIMICRY_GPU_TARGET=host``: the CUDA source
compiled by g++); its chunks are counted (the real method runs), which shows that Step 1 asked
the gpu backend for its trials and not the cpu one, which would have sieved them just as well.
"""

from __future__ import annotations

from pathlib import Path

from gpu_kernels.backends.gpu import GpuBackend
from mimicry.requests import PipelineRequest, SieveSettings
from mimicry.search.window import optimize_window
from mimicry.settings import get_settings
from tests.history import seeded_history

SEED = 31_337
HISTORY = seeded_history("glibc_rand", SEED, 60)


def step_1(tmp_path: Path, backend: str):
    request = PipelineRequest(
        stream="s",
        families=("glibc_rand",),
        sieve=SieveSettings(seeds=(31_000, 31_999), backend=backend),
        window_trials=3,
    )
    # A study store of the backend's own: a study is resumed by its inputs.
    storage = f"sqlite:///{tmp_path / f'{backend}.db'}"
    return optimize_window(HISTORY, "glibc_rand", request, storage)


def test_step_1_sieves_on_the_backend_it_is_given(tmp_path, monkeypatch):
    chunks: list[tuple[int, int]] = []
    sieve_chunk = GpuBackend.sieve_chunk

    def counted(self, job, lo, hi):
        chunks.append((lo, hi))
        return sieve_chunk(self, job, lo, hi)

    monkeypatch.setattr(GpuBackend, "sieve_chunk", counted)
    monkeypatch.setenv("MIMICRY_GPU_TARGET", "host")
    get_settings.cache_clear()
    on_cpu = step_1(tmp_path, "cpu")
    assert chunks == []
    on_gpu = step_1(tmp_path, "gpu")
    assert chunks  # every trial's sieve went to the gpu backend
    assert on_gpu.source == on_cpu.source == "optimised"
    assert on_gpu.config == on_cpu.config
    assert on_gpu.best_significance == on_cpu.best_significance > 2
