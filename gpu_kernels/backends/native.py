"""The cpu backend's compiled kernels: C sources in ``native/`` built for this host at first use.

numba vectorises the prefilters' lane loops 8 wide at best (LLVM keeps to 256-bit vectors); the
MT19937 seed prefilter is where the project meets php_mt_seed, which runs AVX-512 and
interleaves eight vectors, so it is also written in C with GCC vector types and compiled with the
host's C compiler (``$CC``, else ``cc``) as ``-O3 -march=native -fopenmp``. The library is cached
under the kernel cache, keyed on the source, the flags, the compiler and the CPU, so a home shared
by different machines never loads another CPU's build; it is written under a temporary name and
renamed, so concurrent workers never load a half-written file.

Without a compiler :func:`mt_seed_library` says why and the numba prefilter runs instead, as it
does with the cpu backend's ``native_kernels`` off (``MIMICRY_NATIVE_KERNELS=0``); both are exact
and tested against the reference generators.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

import numpy as np

from gpu_kernels.backends import default_kernel_cache

SOURCE = Path(__file__).with_name("native") / "mt_seed_prefilter.c"
FLAGS = ("-O3", "-march=native", "-fopenmp", "-shared", "-fPIC")
#: ``struct mt_seed_job``'s MAX_DEPTH and MAX_WORD.
MAX_DEPTH = 8
MAX_WORD = 225
#: Seeds below which one thread does the whole job (about a millisecond of work).
SMALL_JOB = 1 << 17


class MtSeedJob(ctypes.Structure):
    """``struct mt_seed_job`` of ``mt_seed_prefilter.c``, field for field."""

    _fields_ = [
        ("lo", ctypes.c_uint64),
        ("count", ctypes.c_int64),
        ("word_lo", ctypes.c_int32),
        ("word_hi", ctypes.c_int32),
        ("depth", ctypes.c_int32),
        ("stride", ctypes.c_int32),
        ("twists", ctypes.c_int32),
        ("kind", ctypes.c_int32),
        ("inverse", ctypes.c_uint32),
        ("shift", ctypes.c_uint32),
        ("limit", ctypes.c_uint32),
        ("reject_limit", ctypes.c_uint32),
        ("threads", ctypes.c_int32),
        ("kept", ctypes.c_int32),
        ("draw", ctypes.c_uint32 * MAX_DEPTH),
        ("low", ctypes.c_uint32 * MAX_DEPTH),
        ("high", ctypes.c_uint32 * MAX_DEPTH),
    ]


class NativeUnavailable(RuntimeError):
    """The compiled kernel cannot be built or loaded here; the message says why."""


def _compiler(variable: str, names: tuple[str, ...]) -> str:
    compiler = os.environ.get(variable) or next(filter(None, map(shutil.which, names)), None)
    if not compiler:
        raise NativeUnavailable(f"no compiler (set {variable} or install {names[-1]})")
    return compiler


def _cpu_id() -> bytes:
    """The CPU model and its feature flags: what ``-march=native`` compiles for."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor().encode() + platform.machine().encode()
    wanted = ("model name", "flags", "Features", "CPU part")
    return "\n".join(sorted({line for line in lines if line.startswith(wanted)})).encode()


def build_library(
    source: Path,
    inputs: list[Path],
    flags: tuple[str, ...],
    kernel_cache: Path | None,
    cxx: bool = False,
) -> Path:
    """``source`` compiled into a shared library under ``kernel_cache/native`` (built now if
    needed), keyed on ``inputs`` (the source and what it includes), the flags, the compiler and
    the CPU; :class:`NativeUnavailable` when it cannot be built."""
    compiler = _compiler("CXX", ("c++", "g++")) if cxx else _compiler("CC", ("cc", "gcc"))
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    digest = hashlib.sha256()
    for part in (*(path.read_bytes() for path in inputs), " ".join(flags).encode()):
        digest.update(part + b"\0")
    digest.update(version.encode() + b"\0" + _cpu_id())
    directory = (kernel_cache or default_kernel_cache()) / "native"
    library = directory / f"{source.stem}-{digest.hexdigest()[:16]}.so"
    if not library.exists():
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            built = Path(scratch) / library.name
            result = subprocess.run(
                [compiler, *flags, "-o", str(built), str(source)], capture_output=True, text=True
            )
            if result.returncode != 0:
                errors = [line for line in result.stderr.splitlines() if "error" in line]
                last = (errors or (result.stderr or result.stdout).strip().splitlines())[:1]
                raise NativeUnavailable(f"{compiler} failed on {source.name}: {' '.join(last)}")
            os.replace(built, library)
    return library


@cache
def mt_seed_library(kernel_cache: Path | None = None) -> ctypes.CDLL:
    """The built MT19937 seed prefilter, built now into ``kernel_cache/native`` if it is not
    there yet (default :func:`default_kernel_cache`); :class:`NativeUnavailable` if it cannot be."""
    loaded = ctypes.CDLL(str(build_library(SOURCE, [SOURCE], FLAGS, kernel_cache)))
    loaded.mt_seed_prefilter.argtypes = [ctypes.POINTER(MtSeedJob), ctypes.c_void_p]
    loaded.mt_seed_prefilter.restype = ctypes.c_int
    return loaded


def native_available(kernel_cache: Path | None = None) -> str | None:
    """None when the compiled kernels can run here, else why not."""
    try:
        mt_seed_library(kernel_cache)
    except (NativeUnavailable, OSError) as error:
        return str(error)
    return None


#: Each thread's keep bytes, reused from call to call: a fresh 16 MiB array a slice cost its
#: page faults every time (3 % of a 2^32 sweep, measured with the standalone kernel).
_KEEP = threading.local()


def mt_seed_prefilter(job: MtSeedJob, kernel_cache: Path | None = None) -> np.ndarray:
    """What the prefilter keeps of seeds ``job.lo .. job.lo + job.count - 1``: a byte each, with
    the bit of every twist in ``job.twists`` that keeps the seed. The array is this thread's
    buffer: read it before the thread's next call."""
    buffer = getattr(_KEEP, "buffer", None)
    if buffer is None or len(buffer) < job.count:
        buffer = _KEEP.buffer = np.empty(job.count, np.uint8)
    keep = buffer[: job.count]
    # As many threads as numba's kernels use, so a worker's thread setting holds for both; one
    # for a small job (a probe's first chunks), whose work is less than one late thread's wait
    # at the region's closing barrier on a busy machine (8 ms a call, measured on 2 cores).
    import numba  # its thread setting; imported here, as the gpu backend loads this module

    job.threads = numba.get_num_threads() if job.count >= SMALL_JOB else 1
    status = mt_seed_library(kernel_cache).mt_seed_prefilter(ctypes.byref(job), keep.ctypes.data)
    if status != 0:
        raise ValueError(f"mt_seed_prefilter refused its job (status {status})")
    return keep
