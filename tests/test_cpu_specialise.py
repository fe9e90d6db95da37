"""The cpu kernel's per-combination specialisations: generated once, cached on disk, reloaded.

Each check runs the backend in a fresh Python process with its own kernel cache, as a new
``mimicry sieve`` or a new Dask worker would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpu_kernels.backends.cpu_specialise import specialisation_source
from gpu_kernels.registry import get_family, get_projection

ROOT = Path(__file__).resolve().parents[1]

# Sieve a chunk holding the truth and report the kernel's numba cache statistics.
PROBE = """
import json, sys
from gpu_kernels.backends.cpu import CpuBackend
from gpu_kernels.backends.cpu_specialise import specialised_sieve
from gpu_kernels.registry import get_family, get_projection
from gpu_kernels.job import SieveJob
from mimicry.settings import get_settings
from tests.history import seeded_history

draws = seeded_history("minstd_rand0", 5000, 6)
job = SieveJob(family="minstd_rand0", window=tuple(draws), candidate_range=(1, 100_000))
# The kernel cache the process's settings name (MIMICRY_KERNEL_CACHE), as mimicry's commands use.
backend = CpuBackend(prefilter=False, kernel_cache=get_settings().kernel_cache)
result = backend.sieve_chunk(job, 1, 10_001)
kernel = specialised_sieve(
    get_family("minstd_rand0"), get_projection("mod"), False, backend.kernel_cache
)
print(json.dumps({
    "seeds": [m.candidate for m in result.matches],
    "hits": sum(kernel.stats.cache_hits.values()),
    "misses": sum(kernel.stats.cache_misses.values()),
}))
"""


def _start(cache: Path) -> subprocess.Popen:
    env = {**os.environ, "MIMICRY_KERNEL_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", PROBE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def _report(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[-1])


def _probe(cache: Path) -> dict:
    return _report(_start(cache))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[Path, dict]:
    """A fresh kernel cache after one process sieved in it (and compiled the kernel: some 6 s,
    paid once for the module), and what that process reported."""
    cache = tmp_path_factory.mktemp("compiled") / "kernels"
    return cache, _probe(cache)


def test_second_process_loads_the_compiled_kernel_from_disk(compiled):
    cache, first = compiled
    assert first["seeds"] == [5000]
    assert first["misses"] == 1 and first["hits"] == 0
    generated = cache / "mimicry_sieve_minstd_rand0_mod_seed.py"
    assert generated.is_file()
    assert list((cache / "__pycache__").glob("mimicry_sieve_minstd_rand0_mod_seed.sieve-*.nbc"))
    mtime = generated.stat().st_mtime_ns
    second = _probe(cache)
    assert second["seeds"] == [5000]
    assert second["hits"] == 1 and second["misses"] == 0
    assert generated.stat().st_mtime_ns == mtime  # unchanged source is not rewritten


def test_processes_starting_together_compile_a_kernel_once(tmp_path):
    # Three processes on a fresh cache, as a LocalCluster's workers start: the first to take the
    # kernel's lock compiles it, the others wait and load what it wrote.
    cache = tmp_path / "kernels"
    reports = [_report(process) for process in [_start(cache) for _ in range(3)]]
    assert all(report["seeds"] == [5000] for report in reports)
    assert sorted(report["misses"] for report in reports) == [0, 0, 1]
    assert sorted(report["hits"] for report in reports) == [0, 1, 1]


def test_a_stale_specialisation_is_rewritten(compiled, tmp_path):
    cache = tmp_path / "kernels"
    shutil.copytree(compiled[0], cache)  # a cache a process has compiled into, mtimes kept
    generated = cache / "mimicry_sieve_minstd_rand0_mod_seed.py"
    # An older mimicry's file: another fingerprint (as after an upgrade of a bound module).
    # numba keys its cache on the file's content, so whatever was compiled from the stale text
    # is not reused for the rewritten one.
    text = generated.read_text()
    generated.write_text(text.replace("# fingerprint: ", "# fingerprint: 0ld", 1))
    again = _probe(cache)
    assert again["seeds"] == [5000]
    assert generated.read_text() == text


def test_an_unwritable_cache_still_sieves(tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    result = _probe(blocked / "kernels")
    assert result["seeds"] == [5000]


def test_the_source_binds_the_family_and_projection_functions():
    source = specialisation_source(get_family("xorshift32"), get_projection("java_nextint"), True)
    assert "from gpu_kernels.families.xorshift import _xs32_set_state as init_fn" in source
    assert "from gpu_kernels.families.xorshift import _xs32_next as next_fn" in source
    assert "from gpu_kernels.projections import _java_nextint_draw as draw_fn" in source
    assert "init_fn = next_fn = draw_fn = None" not in source
    seed_mode = specialisation_source(get_family("xorshift32"), get_projection("mod"), False)
    assert "import _xs32_seed as init_fn" in seed_mode
    assert source.splitlines()[1] != seed_mode.splitlines()[1]  # distinct fingerprints
