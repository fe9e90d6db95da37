"""The gpu backend's own parts, on its host target (the CUDA source compiled by g++) and through
nvcc (``--ptx`` needs no GPU). Its chunks against the reference, for every family, projection
and kind of job, are in tests/test_backend_conformance.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gpu_kernels.backends import BackendUnavailable
from gpu_kernels.backends import gpu as gpu_backend
from gpu_kernels.backends.gpu import (
    CUDA_DIR,
    PROJECTION_ORDER,
    GpuBackend,
    kernel_source,
)
from gpu_kernels.backends.reference import ReferenceBackend
from gpu_kernels.job import SieveJob
from gpu_kernels.projections import PROJECTIONS
from gpu_kernels.registry import FAMILIES, get_family, get_projection
from tests.test_cli import mimicry
from tests.test_cuda_families import _nvcc


@pytest.fixture(scope="module")
def host() -> GpuBackend:
    return GpuBackend(target="host")


def history(family: str, projection: str, modulus: int, seed: int, count: int) -> tuple:
    generator = get_family(family)
    words = generator.words(generator.seed(seed))
    return tuple(
        get_projection(projection).draw(words, modulus, generator.word_bits) for _ in range(count)
    )


def test_the_projection_order_is_the_headers():
    header = (CUDA_DIR / "projections.cuh").read_text()
    listed = re.findall(r"^\s*X\((\w+)\)", header, re.MULTILINE)
    assert tuple(listed) == PROJECTION_ORDER
    assert set(PROJECTION_ORDER) == set(PROJECTIONS)


@pytest.mark.parametrize("family", ["java_random", "mt19937"])
def test_an_overflowing_chunk_is_sieved_again_in_halves(host, monkeypatch, family):
    # Window of one draw mod 7 over four offsets: about 4/7 of 2,000 candidates match; a buffer
    # of 64 rows overflows and the chunk is cut until every piece fits (mt19937: behind its
    # prefilter, which keeps those candidates).
    job = SieveJob(
        family=family,
        window=(3,),
        modulus=7,
        candidate_range=(5_000, 6_999),
        offsets=(0, 3),
    )
    launches = []
    original = host.target.launch

    def counted(*args):
        launches.append(args[4])  # the candidate count of each launch
        return original(*args)

    monkeypatch.setattr(gpu_backend, "MIN_CAPACITY", 64)
    monkeypatch.setattr(host, "_capacity", lambda job, count: 64)
    monkeypatch.setattr(host.target, "launch", counted)
    result = host.sieve_chunk(job, 5_000, 7_000)
    reference = ReferenceBackend().sieve_chunk(job, 5_000, 7_000)
    assert len(reference.matches) > 64 * 8
    assert result.matches == reference.matches
    assert result.overflow is False
    assert len(launches) > 16 and min(launches) < 120


def test_jobs_the_kernel_cannot_hold_are_refused_in_one_sentence(host):
    wide = SieveJob(family="java_random", window=(1,) * 65, candidate_range=(0, 9))
    with pytest.raises(ValueError, match="windows of at most 64 draws, and this one has 65"):
        host.sieve_chunk(wide, 0, 10)
    far = SieveJob(family="java_random", window=(1,) * 9, candidate_range=(0, 9), skips=(0, 200))
    with pytest.raises(ValueError, match="keeps 1024 calls per candidate, and this window spans"):
        host.sieve_chunk(far, 0, 10)


def test_an_unknown_target_and_a_machine_without_cupy_say_why():
    with pytest.raises(BackendUnavailable, match="MIMICRY_GPU_TARGET must be 'host' or 'device'"):
        GpuBackend(target="tpu")
    try:
        import cupy  # noqa: F401
    except ImportError:
        needs = r"needs CuPy: pip install 'mimicry\[cuda12\]'"
        with pytest.raises(BackendUnavailable, match=needs):
            GpuBackend(target="device")


def test_the_kernel_source_is_whole():
    source = kernel_source()
    # Only the host shim stays an include, behind MIMICRY_HOST, which NVRTC never defines.
    assert re.findall(r'#include "([^"]+)"', source) == ["host_shim.h"]
    assert all(f"u64 {name}_next(u64 *state)" in source for name in FAMILIES)
    assert "__global__ void sieve_kernel" in source


def every_kernel_unit() -> str:
    """The kernel source with every sieve_kernel instantiated (CuPy does it by name)."""
    instantiations = "\n".join(
        f"template __global__ void sieve_kernel<{index}>(const u64 *, u64, u64, int, const i64 *,"
        " const i64 *, u64 *, i64 *, i64 *, i64 *, i64 *, unsigned int *, unsigned int *,"
        " unsigned int, int);"
        for index in range(len(FAMILIES))
    )
    return kernel_source() + "\n" + instantiations + "\n"


# Hopper in CI; Ampere with the rest of the cross product (-m full_matrix).
@pytest.mark.parametrize("arch", [pytest.param("sm_80", marks=pytest.mark.full_matrix), "sm_90"])
def test_nvcc_compiles_every_kernel(tmp_path, arch):
    unit = tmp_path / "sieve.cu"
    unit.write_text(every_kernel_unit())
    ptx = tmp_path / "sieve.ptx"
    done = subprocess.run(
        [str(_nvcc()), "--ptx", f"-arch={arch}", "-std=c++17", "-o", str(ptx), str(unit)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = ptx.read_text()
    assert f".target {arch}" in text
    assert ".visible .entry mt_seed_prefilter(" in text
    assert len(re.findall(r"^\.visible \.entry \w*sieve_kernel", text, re.MULTILINE)) == len(
        FAMILIES
    )


def test_clang_compiles_every_kernel_for_an_amd_gpu(tmp_path):
    """The same source as HIP for gfx1032 (the RX 6600 of the rigs), through clang's HIP front
    end, which hipRTC is; tests/hip/hip_builtins.h stands in for the runtime header."""
    clang = shutil.which("clang++")
    assert clang, "clang++ is missing: scripts/test.sh installs it (apt-get install clang)"
    unit = tmp_path / "sieve.hip"
    unit.write_text(every_kernel_unit())
    builtins = Path(__file__).with_name("hip") / "hip_builtins.h"
    assembly = tmp_path / "sieve.s"
    flags = ["-x", "hip", "--offload-arch=gfx1032", "-nogpulib", "-nogpuinc", "-std=c++17"]
    flags += ["--cuda-device-only", "-fms-extensions", "-include", str(builtins)]
    done = subprocess.run(
        [clang, *flags, "-S", "-o", str(assembly), str(unit)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = assembly.read_text()
    assert "gfx1032" in text and ".amdhsa_kernel mt_seed_prefilter" in text
    assert len(re.findall(r"^\s*\.amdhsa_kernel \w*sieve_kernel", text, re.MULTILINE)) == len(
        FAMILIES
    )


def cli(cwd: Path, *args: str, target: str | None) -> subprocess.CompletedProcess[str]:
    return mimicry(cwd, *args, settings={"MIMICRY_GPU_TARGET": target} if target else None)


def test_sieve_on_the_gpu_backend_finds_the_seed_and_says_which_device(tmp_path):
    draws = history("java_random", "java_nextint", 1000, 424_242, 8)
    (tmp_path / "draws.txt").write_text("".join(f"{d}\n" for d in draws))
    found = cli(
        tmp_path,
        "sieve",
        "draws.txt",
        "--family",
        "java_random",
        "--projection",
        "java_nextint",
        "--seeds",
        "420000..430000",
        "--backend",
        "gpu",
        "--json",
        target="host",
    )
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert [s["seed"] for s in answer["survivors"]] == [424_242]
    families = cli(tmp_path, "families", "--json", target="host")
    assert json.loads(families.stdout)["gpu"]["device"].startswith("host (MIMICRY_GPU_TARGET")
    bench = cli(
        tmp_path,
        "bench",
        "--backend",
        "gpu",
        "--family",
        "xorshift32",
        "--candidates",
        "20000",
        "--repeats",
        "1",
        "--json",
        target="host",
    )
    assert bench.returncode == 0, bench.stderr
    measured = json.loads(bench.stdout)
    assert measured["device"].startswith("host") and measured["results"][0]["found_truth"]
    missing = cli(tmp_path, "families", "--json", target=None)
    assert json.loads(missing.stdout)["gpu"]["unavailable"]


@pytest.mark.parametrize(
    ("family", "projection", "modulus", "offsets", "skip"),
    [
        ("mt19937", "mod", 1000, (0, 3), 0),
        ("mt19937", "php_mt_rand_range", 62, (0, 0), 1),
        ("mt19937", "php_mt_rand_range", 2**30 + 1, (0, 2), 0),
        ("php5_mt", "php5_mt_rand_range", 3, (1, 4), 0),
        ("mt19937", "raw", 2**32, (0, 1), 0),
    ],
)
def test_the_mt_prefilter_keeps_what_the_cpu_one_keeps(
    host, family, projection, modulus, offsets, skip
):
    from gpu_kernels.backends.cpu_prefilters import prefilter_for
    from gpu_kernels.backends.prefilter_tests import mt_seed_test

    lo, count = 2**32 - 40_000, 40_000
    draws = history(family, projection, modulus, lo + 123, 4 + offsets[1] * 2)
    job = SieveJob(
        family=family,
        projection=projection,
        modulus=modulus,
        window=draws[offsets[1] :: skip + 1][:4],
        candidate_range=(lo, lo + count - 1),
        offsets=offsets,
        skips=(skip, skip),
    )
    assert mt_seed_test(family, job) is not None
    kept = host._prefilter(job, lo, count)
    on_cpu = prefilter_for(family, job)(lo, count)
    assert sorted(int(seed) for seed in kept) == [int(seed) for seed in on_cpu]
    assert lo + 123 in set(int(seed) for seed in kept)
    result = host.sieve_chunk(job, lo, lo + count)
    assert result.matches == ReferenceBackend().sieve_chunk(job, lo, lo + count).matches


@pytest.mark.parametrize(
    ("family", "modulus", "offsets", "skip", "lo"),
    [
        ("python_random", 1000, (0, 3), 0, 2**32 - 3000),
        ("python_random", 37, (2, 2), 1, 5_000),
        ("glibc_rand", 100, (0, 5), 0, 0),
        ("glibc_rand", 1000, (300, 302), 0, 2**31),
        ("java_random", 1000, (0, 2), 1, 2**40),
        ("xorshift32", 1000, (0, 0), 2, 2**32 - 40_000),
    ],
)
def test_the_first_word_prefilters_keep_what_the_cpu_ones_keep(
    host, family, modulus, offsets, skip, lo
):
    """python_random, glibc_rand and java_random seeds, xorshift32 states: the CUDA
    prefilter keeps exactly what numba's keeps (small M keeps many), the truth among them, and
    the chunk's matches are the reference's."""
    from gpu_kernels.backends.cpu_prefilters import prefilter_for
    from gpu_kernels.backends.prefilter_tests import first_word_test
    from gpu_kernels.job import Mode

    state_mode = family == "xorshift32"
    count = 40_000 if state_mode or family == "java_random" else 3_000
    generator = get_family(family)
    truth = lo + 123
    start = generator.state_from_int(truth) if state_mode else generator.seed(truth)
    words = generator.words(start)
    needed = offsets[1] + 4 * (skip + 1)
    calls = [get_projection("mod").draw(words, modulus, generator.word_bits) for _ in range(needed)]
    job = SieveJob(
        family=family,
        modulus=modulus,
        window=tuple(calls[offsets[1] :: skip + 1][:4]),
        mode=Mode.STATE if state_mode else Mode.SEED,
        candidate_range=(lo, lo + count - 1),
        offsets=offsets,
        skips=(skip, skip),
    )
    assert first_word_test(family, job) is not None
    kept = host._prefilter(job, lo, count)
    on_cpu = prefilter_for(family, job)(lo, count)
    assert sorted(int(candidate) for candidate in kept) == [int(c) for c in on_cpu]
    assert truth in set(int(candidate) for candidate in kept)
    assert len(kept) < count  # it filters
    result = host.sieve_chunk(job, lo, lo + count)
    assert result.matches == ReferenceBackend().sieve_chunk(job, lo, lo + count).matches
    assert truth in {match.candidate for match in result.matches}


def test_no_first_word_prefilter_where_the_cpu_has_none(host):
    from gpu_kernels.backends.prefilter_tests import first_word_test

    job = SieveJob(family="java_random", window=(1, 2, 3), candidate_range=(0, 99))
    assert first_word_test("java_random", job) is not None
    assert first_word_test("java_random", job.model_copy(update={"min_matches": 2})) is None
    assert first_word_test("pcg32", job.model_copy(update={"family": "pcg32"})) is None
    wide = job.model_copy(update={"family": "python_random", "candidate_range": (0, 2**32)})
    assert first_word_test("python_random", wide) is None  # a two-word key
    assert host._prefilter(job.model_copy(update={"family": "pcg32"}), 0, 100) is False


def test_a_run_on_its_own_local_cluster_sieves_on_the_gpu_backend(tmp_path):
    # The flow's LocalCluster declares no GPU resources: its chunks must not be annotated GPU=1
    # (they would wait for ever); the backend found its device on this machine already.
    draws = history("java_random", "mod", 1000, 4242, 60)
    (tmp_path / "draws.txt").write_text("".join(f"{d}\n" for d in draws))
    ran = cli(
        tmp_path,
        "run",
        "draws.txt",
        "--stream",
        "g",
        "--family",
        "java_random",
        "--seeds",
        "0..20000",
        "--backend",
        "gpu",
        "--no-rank",
        "--json",
        target="host",
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert json.loads(ran.stdout)["survivors"][0]["seed"] == 4242
