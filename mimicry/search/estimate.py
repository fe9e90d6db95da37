"""How long a search will take, measured on the job itself before it starts.

A family's speed depends on its prefilter, the projection, the offsets and skips, so no table
of figures predicts a job well; a probe does: a warm-up chunk (numba compiles the job's kernel,
which the search needs anyway), then chunks four times larger each until one takes a quarter
of a second. ``xorshift128plus`` with no ``--seeds`` is 2^64 seeds: the probe says it is some
thousands of years before anything starts.

The probe's chunks follow one another from the first candidate and are kept, so the search goes
on where the probe stopped (:func:`mimicry.search.sieve.run_sieves`' ``sieved``): on a 2^32 MT19937
sweep the probe is some 85 M seeds, 2 % of the sweep, which it used to sieve twice.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from gpu_kernels.backends import SieveBackend
from gpu_kernels.job import ChunkResult, SieveJob

#: Searches up to this many candidates start without a probe: seconds at any measured speed.
UNPROBED_CANDIDATES = 1 << 22
#: A probe's last chunk runs this long (a quarter second measures a 2^32 sweep's rate within a
#: few per cent).
_PROBE_SECONDS = 0.25
_YEAR = 365.25 * 86400


@dataclass(frozen=True)
class Estimate:
    candidates: int
    #: Candidates per second measured on the job's first candidates.
    rate: float

    @property
    def seconds(self) -> float:
        return self.candidates / self.rate

    def text(self) -> str:
        """``about 3 min 20 s at 41.6 M/s measured here``."""
        return f"about {duration_text(self.seconds)} at {rate_text(self.rate)} measured here"


@dataclass(frozen=True)
class Probe:
    estimate: Estimate
    #: Each job's chunks of the probe, in the jobs' order: consecutive from the first candidate.
    chunks: list[list[ChunkResult]]


def measure(jobs: Sequence[SieveJob], engine: SieveBackend) -> Probe:
    """The duration on ``engine`` of jobs searched together over the same candidates (one job,
    or one per family sharing a pass: :func:`mimicry.search.sieve.run_sieves`), from probe
    chunks at the start of their range, and what those chunks found."""
    job = jobs[0]
    first, last = job.candidate_range
    end = last + 1
    chunks: list[list[ChunkResult]] = [[] for _ in jobs]

    def sieve(lo: int, hi: int) -> float:
        started = time.perf_counter()
        for found, chunk in zip(chunks, engine.sieve_chunks(jobs, lo, hi), strict=True):
            found.append(chunk)
        return time.perf_counter() - started

    lo = min(end, first + 1024)
    sieve(first, lo)  # compiles the jobs' kernels
    size = 1 << 12
    while True:
        hi = min(end, lo + size)
        seconds = sieve(lo, hi)
        if seconds >= _PROBE_SECONDS or hi == end or size >= 1 << 28:
            rate = (hi - lo) / max(seconds, 1e-9)
            return Probe(Estimate(job.candidate_count, rate), chunks)
        lo, size = hi, size * 4


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} hours"
    if seconds < _YEAR:
        return f"{seconds / 86400:,.0f} days"
    return f"{seconds / _YEAR:,.0f} years"


def rate_text(rate: float) -> str:
    return f"{rate / 1e6:,.1f} M candidates/s" if rate >= 1e5 else f"{rate:,.0f} candidates/s"
