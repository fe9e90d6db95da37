"""Mersenne Twister state recovery from consecutive outputs, whole or truncated.

MT19937 is the sliding recurrence ``x[k+624] = x[k+397] ^ A(upper(x[k]) | lower(x[k+1]))``
over untempered words, and each output is ``temper(x[k])``. Tempering is an invertible linear
map, so a draw that fixes some bits of an output fixes an affine subspace of ``x[k]``: its
known part untempered, plus one unknown per bit the draw left out. The recurrence is linear in
those unknowns too (``A`` adds MATRIX_A when a bit is set), so every window of 625 words gives
32 equations over GF(2) (:mod:`mimicry.recovery.gf2`):

* 624 whole words (``getrandbits(32)``, ``std::mt19937()``) leave no unknown: the state is the
  words untempered, as randcrack does it (any 624 words are some state, so only draws beyond
  them check the answer);
* ``mt_rand()`` leaves one bit a word (about 645 draws determine the state), ``random()`` 11
  bits a draw of two words, ``getrandbits(k)`` 32 - k.

Variables are ordered by word, so the equations form a band (a window of 624 words) and the
elimination stays inside it. The state comes out as the family's own state (``mt19937`` and
``python_random`` share it), so the predictions come from the family's reference twin.
"""

from __future__ import annotations

import math

from gpu_kernels.families.mersenne import MASK32, MATRIX_A, M, N, _temper
from mimicry.recovery.gf2 import LinearSystem

#: Bits of the MT state that ever reach an output: 623 whole words and one top bit.
STATE_BITS = 19937


def untemper(y: int) -> int:
    """The inverse of MT19937's tempering."""
    y ^= y >> 18
    y ^= (y << 15) & 0xEFC60000
    result = y
    for _ in range(5):  # each pass fixes 7 more low bits of the << 7 step
        result = y ^ ((result << 7) & 0x9D2C5680)
    y = result
    y ^= y >> 11
    y ^= y >> 22
    return y & MASK32


assert all(untemper(_temper(v)) == v for v in (0, 1, 0x80000000, 0xDEADBEEF, MASK32))

#: untemper of each single output bit: the column of the linear map for an unknown bit.
_UNTEMPER_COLUMNS = [untemper(1 << bit) for bit in range(32)]


class AffineWord:
    """An untempered word whose bits are affine forms over the unknown variables."""

    __slots__ = ("constant", "masks")

    def __init__(self, constant: int, masks: list[int]) -> None:
        self.constant = constant
        self.masks = masks  # masks[bit]: the variables bit ``bit`` of the word depends on

    def form(self, bit: int) -> tuple[int, int]:
        return self.masks[bit], (self.constant >> bit) & 1


def observed_word(known_mask: int, known_value: int, first_variable: int) -> tuple[AffineWord, int]:
    """The untempered word of an output whose ``known_mask`` bits are ``known_value``: its
    affine form, and how many new variables (the unknown output bits) it took."""
    masks = [0] * 32
    variable = first_variable
    unknown = ~known_mask & MASK32
    while unknown:
        bit = unknown & -unknown
        column = _UNTEMPER_COLUMNS[bit.bit_length() - 1]
        for target in range(32):
            if column >> target & 1:
                masks[target] |= 1 << variable
        variable += 1
        unknown ^= bit
    return AffineWord(untemper(known_value & known_mask), masks), variable - first_variable


def add_recurrence(system: LinearSystem, words: list[AffineWord], k: int, php_twist: bool) -> None:
    """The 32 equations of ``x[k+624] = x[k+397] ^ A(upper(x[k]) | lower(x[k+1]))``.

    ``php_twist``: PHP 5.2.1–7.0's twist (and ``MT_RAND_PHP``), which takes the odd bit from
    ``x[k]`` instead of ``x[k+1]``.
    """
    oldest, next_, middle, new = words[k], words[k + 1], words[k + M], words[k + N]
    odd_mask, odd_constant = (oldest if php_twist else next_).form(0)
    for bit in range(32):
        mask = new.masks[bit] ^ middle.masks[bit]
        constant = ((new.constant ^ middle.constant) >> bit) & 1
        if bit == 30:  # (upper(x[k]) | lower(x[k+1])) >> 1: bit 30 is x[k]'s top bit
            mask ^= oldest.masks[31]
            constant ^= (oldest.constant >> 31) & 1
        elif bit < 30:
            mask ^= next_.masks[bit + 1]
            constant ^= (next_.constant >> (bit + 1)) & 1
        if MATRIX_A >> bit & 1:
            mask ^= odd_mask
            constant ^= odd_constant
        system.add(mask, constant)


def determined(
    system: LinearSystem, words: list[AffineWord], end: int, php_twist: bool = False
) -> bool:
    """Whether the equations fix every state bit that the outputs after word ``end - 1``
    depend on: words ``end - 623 .. end - 1`` whole and the top bit of ``end - 624`` (and its
    bit 0 under PHP's twist)."""
    needed = [words[end - N].form(31)] + ([words[end - N].form(0)] if php_twist else [])
    needed += [words[k].form(bit) for k in range(end - N + 1, end) for bit in range(32)]
    return all(system.reduce(*form)[0] == 0 for form in needed)


def solved_window(system: LinearSystem, words: list[AffineWord], end: int) -> tuple[int, ...]:
    """The untempered words ``end - 624 .. end - 1`` under the system's solution."""
    values = system.solution()
    window = []
    for k in range(end - N, end):
        word = words[k].constant
        for bit, mask in enumerate(words[k].masks):
            if (mask & values).bit_count() & 1:
                word ^= 1 << bit
        window.append(word)
    return tuple(window)


def solve(family, reading, known: list[tuple[int, int]]):
    """The state after the fewest words that determine it (the rest are left to checks)."""
    php_twist = family.php_twist
    from mimicry.recovery import RecoveryError, Solved, Unexplained, too_few
    from mimicry.recovery.gf2 import Contradiction

    fewest_bits = min(mask.bit_count() for mask, _ in known[: reading.words_per_draw])
    if fewest_bits < 8:
        # Each word's hidden bits are unknowns, and the words needed grow as 624 · 32 / k:
        # k = 8 took 2,496 words, 59,904 unknowns and 44 s (BENCHMARKS.md); k = 4 would take
        # 4,992 words and 139,776 unknowns, with elimination growing faster than their square.
        needed = N * (int(31.9 // fewest_bits) + 1)
        raise RecoveryError(
            f"{reading.name} draws fix {fewest_bits} bit{'s' if fewest_bits > 1 else ''} of a "
            f"word; this solver needs at least 8: with {fewest_bits} it would take {needed:,} "
            f"draws and {needed * (32 - fewest_bits):,} unknown bits (8 bits took 2,496 draws, "
            f"59,904 unknowns and 44 s, measured)"
        )
    # Words whose hidden bits are never in an equation stay free until the twist has seen them
    # in every role: 624 whole words suffice, truncated ones need 624 * (31.9 // bits + 1)
    # (1,248 for mt_rand() and random(), 2,496 for getrandbits(8)).
    least = N * (int(31.9 // fewest_bits) + 1) if fewest_bits < 32 else N
    if len(known) < least:
        raise too_few(family.name, reading, least, len(known))
    system = LinearSystem()
    words: list[AffineWord] = []
    variables = 0
    end = least
    try:
        while True:
            while len(words) < end:
                word, taken = observed_word(*known[len(words)], variables)
                variables += taken
                words.append(word)
                if len(words) > N:
                    add_recurrence(system, words, len(words) - N - 1, php_twist)
            if determined(system, words, end, php_twist):
                break
            if end == len(known):
                raise too_few(family.name, reading, end + N // 8, len(known))
            end = min(len(known), end + N // 8)
    except Contradiction:
        raise Unexplained(
            f"no {family.name} state explains these {reading.name} draws: the first "
            f"{math.ceil(len(words) / reading.words_per_draw)} break the twist's recurrence"
        ) from None
    window = list(solved_window(system, words, end))
    window[0] &= 0x80000001 if php_twist else 0x80000000  # the bits the family keeps
    method = "untemper" if variables == 0 else f"GF(2) over {variables} unknown output bits"
    return Solved(state=(tuple(window), 0), used_words=end, method=method)
