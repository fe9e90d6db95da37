"""Chunks sieved from several threads at once (a Dask worker with two threads): the kernels run
one at a time, and every chunk's matches are those it has alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from gpu_kernels.backends.cpu import ALL_CORES, CpuBackend
from gpu_kernels.job import SieveJob
from tests.history import seeded_history

SEED = 4_242


def job() -> SieveJob:
    window = tuple(seeded_history("xorshift32", SEED, 8, offset=3))
    return SieveJob(
        family="xorshift32", window=window, candidate_range=(0, 1 << 20), offsets=(0, 7)
    )


def test_a_chunk_waits_while_another_holds_the_cores():
    backend, started, finished = CpuBackend(), threading.Event(), threading.Event()

    def chunk():
        started.set()
        backend.sieve_chunk(job(), 0, 1 << 12)
        finished.set()

    with ALL_CORES:
        thread = threading.Thread(target=chunk)
        thread.start()
        started.wait(10)
        assert not finished.wait(1.0), "the chunk ran while another held the cores"
    thread.join(60)
    assert finished.is_set()


def test_chunks_from_two_threads_give_each_chunk_its_own_matches():
    backend = CpuBackend()
    bounds = [(lo, lo + (1 << 14)) for lo in range(0, 1 << 16, 1 << 14)]
    alone = [backend.sieve_chunk(job(), lo, hi) for lo, hi in bounds]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda b: backend.sieve_chunk(job(), *b), bounds))
    assert [r.matches for r in together] == [r.matches for r in alone]
    assert [m.candidate for r in together for m in r.matches] == [SEED]
    assert all(r.seconds > 0 for r in together)
