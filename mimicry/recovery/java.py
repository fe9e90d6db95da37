"""java.util.Random state recovery from two consecutive ``nextInt()`` (the classic attack).

``nextInt()`` is the top 32 bits of the 48-bit LCG state after a step, so one draw leaves 16
bits unknown: the 2**16 candidates for the state behind the first draw are stepped once and
kept when their top 32 bits make the second draw. Two draws carry 64 bits against 48 of state,
so a second candidate survives with a chance of about 2**-16; then a third draw decides, and
more draws than needed are checks.
"""

from __future__ import annotations

import numpy as np

from gpu_kernels.families.lcg import JAVA_A, JAVA_C, MASK48

STATE_BITS = 48


def solve(family, reading, known: list[tuple[int, int]]):
    from mimicry.recovery import Solved, Unexplained, too_few

    if len(known) < 2:
        raise too_few(family.name, reading, 2, len(known))
    low = np.arange(1 << 16, dtype=np.uint64)
    candidates = (np.uint64(known[0][1]) << np.uint64(16)) | low
    used = 1
    while len(candidates) > 1 or used < 2:
        if used == len(known):
            raise too_few(family.name, reading, used + 1, len(known))
        candidates = (candidates * np.uint64(JAVA_A) + np.uint64(JAVA_C)) & np.uint64(MASK48)
        candidates = candidates[(candidates >> np.uint64(16)) == np.uint64(known[used][1])]
        used += 1
    if len(candidates) == 0:
        raise Unexplained(
            f"no {family.name} state explains these {reading.name} draws: no 48-bit state "
            f"makes the first {used} of them"
        )
    return Solved(state=int(candidates[0]), used_words=used, method="2**16 low bits")
