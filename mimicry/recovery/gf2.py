"""Affine equations over GF(2), kept in echelon form as they arrive.

A generator whose step is linear in its state bits (Mersenne Twister, xorshift, the low bits of
an additive lagged generator) turns each observed output bit into one affine equation in the
unknown bits. An equation is ``(mask, constant)``: the XOR of the variables whose bits are set in
``mask`` equals ``constant``. Python ints are the bit sets: XOR of two rows is one ``^`` over
machine words, which is what elimination spends its time on.

Rows are keyed by their highest variable (the pivot); a new row is reduced against them until
it either brings a new pivot, vanishes (redundant: one more check passed) or becomes ``0 = 1``
(the observations contradict the model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: One bit of a value as an affine form: (mask of variables, constant bit).
Form = tuple[int, int]


class Contradiction(ValueError):
    """The equations have no solution: the draws are not this generator's under this model."""


@dataclass
class LinearSystem:
    """Affine GF(2) equations in echelon form (rows keyed by their highest variable)."""

    rows: dict[int, Form] = field(default_factory=dict)
    #: Equations that added nothing new: each one a check the observations passed.
    redundant: int = 0

    @property
    def rank(self) -> int:
        return len(self.rows)

    def add(self, mask: int, constant: int) -> None:
        """Add ``XOR(variables in mask) == constant``; raises :class:`Contradiction`."""
        rows = self.rows
        while mask:
            pivot = mask.bit_length() - 1
            row = rows.get(pivot)
            if row is None:
                rows[pivot] = (mask, constant)
                return
            mask ^= row[0]
            constant ^= row[1]
        if constant:
            raise Contradiction("the observations contradict the generator's equations")
        self.redundant += 1

    def reduce(self, mask: int, constant: int) -> Form:
        """``(free, value)``: the form rewritten over the free variables only. ``free == 0``
        means the system determines it, and ``value`` is its value."""
        rows = self.rows
        free = 0
        while mask:
            top = mask.bit_length() - 1
            row = rows.get(top)
            if row is None:
                free |= 1 << top
                mask ^= 1 << top
            else:
                mask ^= row[0]
                constant ^= row[1]
        return free, constant

    def solution(self) -> int:
        """One solution as a bit set (free variables 0), by back-substitution from the lowest
        pivot up: each row holds its pivot and lower variables only."""
        values = 0
        for pivot in sorted(self.rows):
            mask, constant = self.rows[pivot]
            if (constant ^ (mask & values).bit_count()) & 1:
                values |= 1 << pivot
        return values


def evaluate(form: Form, values: int) -> int:
    """The bit a form takes under the variable assignment ``values``."""
    mask, constant = form
    return (constant ^ (mask & values).bit_count()) & 1
