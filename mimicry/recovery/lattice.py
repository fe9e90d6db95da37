"""Lattice reduction for truncated LCG outputs (the LattiCG approach, small dimensions).

An LCG ``x[i+1] = a x[i] + c (mod m)`` that shows only the top bits of each state says
``x[i]`` lies in an interval ``[low[i], low[i] + width)``. With ``x[i] = a^i x[0] + c[i]``, the
vectors ``(a^i x[0] mod m)_i`` form a lattice (rows ``(1, a, a^2, ...)`` and ``m e_i``), and the
state is the lattice point inside the box ``low[i] - c[i] + [0, width)``: LLL reduces the basis
and a Fincke-Pohst enumeration visits the lattice points in the sphere around the box, keeping
those inside it (LattiCG enumerates the box itself; the sphere visits more nodes, which these
sizes afford). Dimensions here are a few dozen, so exact rational arithmetic is fast enough and
no dependency (fpylll) is needed.
"""

from __future__ import annotations

import math
from fractions import Fraction

#: Enumeration nodes before the search gives up (the box then holds too many states).
_VISIT_LIMIT = 2_000_000


def gram_schmidt(rows: list[list[int]], number: type) -> tuple[list, list, list]:
    """``mu`` (the coefficients, below the diagonal), the squared norms and the orthogonal
    vectors of ``rows``, in ``number`` arithmetic (exact ``Fraction`` or ``float``)."""
    n = len(rows)
    mu = [[number(0)] * n for _ in range(n)]
    norms: list = []
    ortho: list[list] = []
    for i in range(n):
        vector = [number(x) for x in rows[i]]
        for j in range(i):
            mu[i][j] = sum(x * y for x, y in zip(rows[i], ortho[j], strict=True)) / norms[j]
            vector = [x - mu[i][j] * y for x, y in zip(vector, ortho[j], strict=True)]
        ortho.append(vector)
        norms.append(sum(x * x for x in vector))
    return mu, norms, ortho


def lll(basis: list[list[int]], delta: Fraction = Fraction(99, 100)) -> list[list[int]]:
    """An LLL-reduced basis of the lattice the integer rows of ``basis`` span (exact rational
    arithmetic, Gram-Schmidt coefficients updated in place: Cohen, Algorithm 2.6.3)."""
    rows = [list(row) for row in basis]
    n = len(rows)
    mu, norms, _ = gram_schmidt(rows, Fraction)

    def reduce(k: int, j: int) -> None:
        q = round(mu[k][j])
        if q:
            rows[k] = [x - q * y for x, y in zip(rows[k], rows[j], strict=True)]
            for i in range(j):
                mu[k][i] -= q * mu[j][i]
            mu[k][j] -= q

    k = 1
    while k < n:
        reduce(k, k - 1)
        if norms[k] < (delta - mu[k][k - 1] ** 2) * norms[k - 1]:
            m = mu[k][k - 1]
            joined = norms[k] + m * m * norms[k - 1]
            mu[k][k - 1] = m * norms[k - 1] / joined
            norms[k] = norms[k - 1] * norms[k] / joined
            norms[k - 1] = joined
            rows[k], rows[k - 1] = rows[k - 1], rows[k]
            for j in range(k - 1):
                mu[k - 1][j], mu[k][j] = mu[k][j], mu[k - 1][j]
            for i in range(k + 1, n):
                t = mu[i][k]
                mu[i][k] = mu[i][k - 1] - m * t
                mu[i][k - 1] = t + mu[k][k - 1] * mu[i][k]
            k = max(k - 1, 1)
        else:
            for j in range(k - 2, -1, -1):
                reduce(k, j)
            k += 1
    return rows


class TooMany(ValueError):
    """The box holds more lattice points than the search visits: too few draws."""


def points_in_box(basis: list[list[int]], centre: list[Fraction], half: int) -> list[list[int]]:
    """Every lattice point ``v`` with ``|v[i] - centre[i]| <= half`` for all i (and a few more
    on the sphere around the box, which the caller's exact check drops): Fincke-Pohst
    enumeration in the reduced ``basis``, Gram-Schmidt in floats with the radius padded, so no
    point is missed to rounding."""
    n = len(basis)
    mu, norms, ortho = gram_schmidt(basis, float)
    target = [float(x) for x in centre]
    tau = [sum(x * y for x, y in zip(target, ortho[i], strict=True)) / norms[i] for i in range(n)]
    radius = n * float(half) ** 2 * (1 + 1e-9) + 1.0
    found: list[list[int]] = []
    coefficients = [0] * n
    visited = 0

    def descend(i: int, used: float) -> None:
        nonlocal visited
        visited += 1
        if visited > _VISIT_LIMIT:
            raise TooMany("the draws leave too many candidate states")
        shift = sum(coefficients[j] * mu[j][i] for j in range(i + 1, n))
        centre_i = tau[i] - shift
        spread = ((radius - used) / norms[i]) ** 0.5
        for u in range(math.ceil(centre_i - spread), math.floor(centre_i + spread) + 1):
            coefficients[i] = u
            cost = used + (u - centre_i) ** 2 * norms[i]
            if cost > radius:
                continue
            if i == 0:
                point = [
                    sum(c * row[k] for c, row in zip(coefficients, basis, strict=True))
                    for k in range(n)
                ]
                if all(abs(x - y) <= half for x, y in zip(point, centre, strict=True)):
                    found.append(point)
            else:
                descend(i - 1, cost)
        coefficients[i] = 0

    descend(n - 1, 0.0)
    return found


def truncated_lcg_states(a: int, c: int, modulus: int, lows: list[int], width: int) -> list[int]:
    """Every first state ``x[0]`` found with ``x[i]`` in ``[lows[i], lows[i] + width)``."""
    n = len(lows)
    powers, offsets = [1], [0]
    for _ in range(n - 1):
        powers.append(powers[-1] * a % modulus)
        offsets.append((offsets[-1] * a + c) % modulus)
    basis = [powers] + [[modulus if j == i else 0 for j in range(n)] for i in range(1, n)]
    reduced = lll(basis)
    half = width // 2
    centre = [
        Fraction((low - offset) % modulus + half) for low, offset in zip(lows, offsets, strict=True)
    ]
    found = set()
    for point in points_in_box(reduced, centre, half):
        first = point[0] % modulus
        state = first
        for low in lows:
            if not low <= state < low + width:
                break
            state = (state * a + c) % modulus
        else:
            found.add(first)
    return sorted(found)
