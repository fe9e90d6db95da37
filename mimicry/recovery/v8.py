"""V8 ``Math.random()`` state recovery from consecutive doubles (xorshift128+ over GF(2)).

Each double shows the top 52 bits of the 64-bit ``state0`` of one generation, and xorshift128+
is linear over GF(2), so four doubles (208 equations; three reach rank 116 only) fix the
128-bit state. What is not known
is where the first double sat in its cache block of 64 (served last-first), so every position
is tried: the unknowns are the state at the start of that block, a draw at serve position ``q``
of block ``b`` is generation ``64 b + 63 - q``, and a wrong position contradicts its equations
or misses a later draw replayed from its state. Draws inside one block fit at every place
that keeps them inside it: those states agree until the next refill and part there; the answer
predicts each continuation with the positions behind it, position 0 (a fresh process) first.
"""

from __future__ import annotations

from gpu_kernels.families.v8 import CACHE_SIZE, step
from gpu_kernels.family import State
from mimicry.recovery.gf2 import Contradiction, LinearSystem

#: The xorshift state and the place in the cache (64 places: 6 bits).
STATE_BITS = 128 + 6
_BITS = 64
#: Doubles that fix the 128 bits (three consecutive ones overlap: rank 116).
FIXING = 4
#: The cache position of a new isolate's first Math.random() (a fresh `node` process's first
#: double: measured against Node's own continuation, tests/test_recover.py).
FRESH_PROCESS = 0


def _symbolic_values(generations: int) -> list[list[int]]:
    """For each generation of a block run, ``state0`` after its step as 64 masks over the 128
    unknown bits (bits 0–63: the starting state0, 64–127: the starting state1)."""
    first = [1 << bit for bit in range(_BITS)]
    second = [1 << (_BITS + bit) for bit in range(_BITS)]
    values = []
    for _ in range(generations):
        # xorshift128+: (s1, s0) -> (s0, s1 ^ s1 << 23 ^ (that >> 17) ^ s0 ^ s0 >> 26)
        mixed = [first[bit] ^ (first[bit - 23] if bit >= 23 else 0) for bit in range(_BITS)]
        new = [
            mixed[bit]
            ^ (mixed[bit + 17] if bit + 17 < _BITS else 0)
            ^ second[bit]
            ^ (second[bit + 26] if bit + 26 < _BITS else 0)
            for bit in range(_BITS)
        ]
        first, second = second, new
        values.append(first)
    return values


def _fit(values, known, position: int) -> int | None:
    """The starting state (as a 128-bit int) that makes ``known`` when the first draw is at
    serve ``position`` of its block; None when it contradicts or is not fixed."""
    system = LinearSystem()
    try:
        for index, (mask, value) in enumerate(known):
            block, served = divmod(position + index, CACHE_SIZE)
            symbolic = values[block * CACHE_SIZE + CACHE_SIZE - 1 - served]
            for bit in range(_BITS):
                if mask >> bit & 1:
                    system.add(symbolic[bit], value >> bit & 1)
    except Contradiction:
        return None
    return system.solution() if system.rank == 2 * _BITS else None


def solve(family, reading, known: list[tuple[int, int]]):
    from mimicry.recovery import Solved, Unexplained, too_few

    if len(known) < FIXING:
        raise too_few(family.name, reading, FIXING, len(known))
    values = _symbolic_values(2 * CACHE_SIZE)
    # Four draws fix the state for each place of the first one in its block; the rest of the
    # draws are replayed from each such state, and a place is dropped at its first miss.
    survivors: dict[int, State] = {}
    decided = FIXING  # draws needed to leave only the places that fit them all
    for position in range(CACHE_SIZE):
        start = _fit(values, known[:FIXING], position)
        if start is None:
            continue
        block_start = (start & (1 << _BITS) - 1, start >> _BITS)
        if position == 0:
            state = (*block_start, 0)
        else:
            state = (*step(block_start, CACHE_SIZE), CACHE_SIZE - position)
        for index, (mask, value) in enumerate(known):
            state, word = family.next(state)
            if word & mask != value:
                decided = max(decided, index + 1)
                break
        else:
            survivors[position] = state
    if not survivors:
        raise Unexplained(
            f"no {family.name} state explains these {reading.name} draws at any place in the "
            f"cache of {CACHE_SIZE}: not Math.random() of V8 7.1-13.4, or not consecutive"
        )
    # Draws inside one block fit at every place that keeps them there (the same values
    # shifted); only where the next refill falls tells those states apart.
    places = list(survivors)
    shown = ", ".join(map(str, places)) if len(places) < 6 else f"{places[0]}-{places[-1]}"
    states = list(survivors.values())  # each after every draw: the replay just walked there
    return Solved(
        state=states[0],
        used_words=decided,
        method=f"GF(2), cache position {shown}",
        alternatives=tuple(states[1:]),
        words_past=len(known),
        labels=tuple(places),
        usual=(
            FRESH_PROCESS,
            f"cache position {FRESH_PROCESS}, where a fresh process's first Math.random() is",
        ),
    )
