"""glibc ``rand()`` (TYPE_3) state recovery from consecutive outputs.

``rand()`` is ``r[i] >> 1`` with ``r[i] = r[i-3] + r[i-31] (mod 2**32)``, so a draw hides one
bit, the low bit ``l[i]`` of ``r[i]``. The low bits follow ``l[i] = l[i-3] ^ l[i-31]`` (linear
over GF(2) in the first 31 of them), and the carry out of them shows in the draws:
``o[i] - o[i-3] - o[i-31] (mod 2**31)`` is ``l[i-3] & l[i-31]``, 0 or 1 (anything else: not
glibc). A carry of 1 fixes both low bits (two equations); a carry of 0 with one of them known
to be 1 fixes the other to 0, which is propagated until nothing changes. The state is the last
31 values ``2 * o + l``; draws beyond those that fixed it are checks.
"""

from __future__ import annotations

from gpu_kernels.families.glibc import DEG, MASK32, SEP
from mimicry.recovery.gf2 import Contradiction, LinearSystem

#: The 31 values of the window: 31 draws and their 31 hidden low bits.
STATE_BITS = DEG * 32


def solve(family, reading, known: list[tuple[int, int]]):
    from mimicry.recovery import RecoveryError, Solved, Unexplained, too_few

    draws = [value for _, value in known]
    low_bits = [1 << i for i in range(DEG)]  # l[i] as a mask over l[0..30]
    system = LinearSystem()
    zero_carries: list[int] = []  # i with a carry of 0: not (l[i-3] and l[i-31])
    if len(draws) < DEG:
        raise too_few(family.name, reading, DEG, len(draws))
    end = DEG
    while True:
        while len(low_bits) < end:
            i = len(low_bits)
            low_bits.append(low_bits[i - SEP] ^ low_bits[i - DEG])
            carry = (draws[i] - draws[i - SEP] - draws[i - DEG]) % (1 << 31)
            try:
                if carry == 1:
                    system.add(low_bits[i - SEP], 1)
                    system.add(low_bits[i - DEG], 1)
                elif carry == 0:
                    zero_carries.append(i)
                else:
                    raise Contradiction
                _propagate(system, low_bits, zero_carries)
            except Contradiction:
                raise Unexplained(
                    f"no {family.name} state explains these draws: draw {i + 1} is not the sum "
                    f"of draws {i + 1 - SEP} and {i + 1 - DEG} (plus a carry of 0 or 1)"
                ) from None
        open_bits = sum(system.reduce(low_bits[i], 0)[0] != 0 for i in range(end - DEG, end))
        if not open_bits:
            break
        if end == len(draws):
            raise RecoveryError(
                f"{family.name} state recovery needs more than the {len(draws)} consecutive "
                f"draws of the history: they leave {open_bits} of the 31 hidden low bits open "
                f"(90 to 210 draws usually fix them)"
            )
        end = min(end + 8, len(draws))
    window = tuple(
        (2 * draws[i] + system.reduce(low_bits[i], 0)[1]) & MASK32 for i in range(end - DEG, end)
    )
    return Solved(state=window, used_words=end, method="carries of the additive recurrence")


def _propagate(system: LinearSystem, low_bits: list[int], zero_carries: list[int]) -> None:
    """A carry of 0 with one low bit known to be 1: the other is 0. Until nothing changes."""
    changed = True
    while changed:
        changed = False
        for i in zero_carries:
            a, b = system.reduce(low_bits[i - SEP], 0), system.reduce(low_bits[i - DEG], 0)
            if a == b == (0, 1):
                raise Contradiction
            for known, other in ((a, low_bits[i - DEG]), (b, low_bits[i - SEP])):
                if known == (0, 1) and system.reduce(other, 0)[0]:
                    system.add(other, 0)
                    changed = True
