"""How long a search will take, measured on the job itself before it starts.

A family's speed depends on its prefilter, the projection, the offsets and skips, so no table
of figures predicts a job well; a probe does: a warm-up chunk (numba compiles the job's kernel,
which the search needs anyway), then chunks four times larger each until one takes half a
second. ``xorshift128plus`` with no ``--seeds`` is 2^64 seeds: the probe says it is some
thousands of years before anything starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gpu_kernels.backends import SieveBackend
from gpu_kernels.job import SieveJob

#: Searches up to this many candidates start without a probe: seconds at any measured speed.
UNPROBED_CANDIDATES = 1 << 22
_PROBE_SECONDS = 0.5
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


def measure(job: SieveJob, engine: SieveBackend) -> Estimate:
    """The job's duration on ``engine``, from probe chunks at the start of its range."""
    first, last = job.candidate_range
    end = last + 1
    engine.sieve_chunk(job, first, min(end, first + 1024))  # compiles the job's kernel
    size = 1 << 12
    while True:
        hi = min(end, first + size)
        started = time.perf_counter()
        engine.sieve_chunk(job, first, hi)
        seconds = time.perf_counter() - started
        if seconds >= _PROBE_SECONDS or hi == end or size >= 1 << 28:
            return Estimate(job.candidate_count, (hi - first) / max(seconds, 1e-9))
        size *= 4


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
