"""java.util.Random state recovery from ``nextInt()`` (the classic attack) or ``nextInt(2^k)``.

``nextInt()`` is the top 32 bits of the 48-bit LCG state after a step, so one draw leaves 16
bits unknown: the 2**16 candidates for the state behind the first draw are stepped once and
kept when their top 32 bits make the second draw. Two draws carry 64 bits against 48 of state,
so a second candidate survives with a chance of about 2**-16; then a third draw decides, and
more draws than needed are checks. ``nextInt(2^k)`` shows only the state's top k bits: a lattice
(:mod:`mimicry.recovery.lattice`) finds the states from ceil(48 / k) draws (two more leave one
state almost always), k >= 3.
"""

from __future__ import annotations

from gpu_kernels.families.lcg import JAVA_A, JAVA_C, MASK48

STATE_BITS = 48


def solve(family, reading, known: list[tuple[int, int]]):
    from mimicry.recovery import Solved, Unexplained, too_few

    if known and known[0][0] != 0xFFFFFFFF:
        return _solve_truncated(family, reading, known)
    if len(known) < 2:
        raise too_few(family.name, reading, 2, len(known))
    import numpy as np  # here: the other families' recoveries start without numpy

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


def _solve_truncated(family, reading, known: list[tuple[int, int]]):
    """``nextInt(2^k)``: each draw puts the state in an interval of width 2^(48-k); LLL and an
    enumeration of the lattice points in the box give the states (LattiCG's way)."""
    from mimicry.recovery import RecoveryError, Solved, Unexplained, too_few
    from mimicry.recovery.lattice import TooMany, truncated_lcg_states

    bits = known[0][0].bit_count()
    least = -(-STATE_BITS // bits)  # the information; two more draws almost always leave one
    if len(known) < least:
        raise too_few(family.name, reading, least, len(known))
    needed = min(len(known), least + 2)
    width = 1 << (STATE_BITS - bits)
    lows = [value << 16 for _, value in known[:needed]]  # the word's top bits are the state's
    try:
        states = truncated_lcg_states(JAVA_A, JAVA_C, MASK48 + 1, lows, width)
    except TooMany:
        raise RecoveryError(
            f"{family.name} state recovery from {len(known)} nextInt({1 << bits}) draws: the "
            f"first {needed} leave too many states; give more draws"
        ) from None
    if not states:
        raise Unexplained(
            f"no {family.name} state explains these {reading.name} draws: no 48-bit state "
            f"makes the first {needed} of them"
        )
    return Solved(
        state=states[0],  # each the state after the first draw's step
        used_words=needed,
        method=f"lattice (LLL) over {needed} draws of {bits} bits",
        alternatives=tuple(states[1:]),
        words_past=1,
    )
