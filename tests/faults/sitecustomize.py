"""Test-only fault injection, loaded by every Python process whose ``PYTHONPATH`` starts with this
folder (a ``mimicry run`` the tests start, and the Dask worker processes it spawns). Production
code knows nothing of it: the tests wrap the cpu backend's ``sieve_chunk`` here.

* ``MIMICRY_TEST_FAIL_FIRST_ATTEMPT=1``: every chunk task fails its first attempt (retries).
* ``MIMICRY_TEST_FAIL_CHUNKS=2000,3000``: chunks starting at these candidates always fail.
"""

import os

_first = os.environ.get("MIMICRY_TEST_FAIL_FIRST_ATTEMPT") == "1"
_chunks = {int(lo) for lo in os.environ.get("MIMICRY_TEST_FAIL_CHUNKS", "").split(",") if lo}

if _first or _chunks:
    from tests.faults.inject import install

    install(fail_first_attempt=_first, fail_chunks=_chunks)
