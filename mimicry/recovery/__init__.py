"""State recovery: the generator's internal state from consecutive outputs, no seed needed.

The job of randcrack, untwister's state inference and the V8 predictors: a program printed a
run of its generator's outputs (``getrandbits(32)``, ``mt_rand()``, ``nextInt()``,
``Math.random()``...), drawn from a state nobody knows (an ``os.urandom`` seed, a long-running
process). The solver for the family (untempering and GF(2) algebra for the Mersenne Twister and
xorshift128+, the 2**16 low bits of java.util.Random, the carries of glibc's additive generator)
finds the state from the fewest draws that fix it; the family's reference twin then replays the
whole history from that state, so every draw the solver did not use is a check, and a state that
fails one is never reported. The answer says how likely the fit is to be luck: ``2**state_bits``
states can explain at most that many of the ``2**known_bits`` possible histories.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gpu_kernels.family import Family, State
from gpu_kernels.registry import get_family
from mimicry.recovery.readings import READINGS, Draw, Reading, ReadingError


class RecoveryError(ValueError):
    """The request cannot be answered as asked (unknown pairing, too few draws, a draw the
    projection cannot produce); ``str()`` is one sentence. Bad input: exit 2. ``index``: the
    draw at fault (0-based) and ``reason`` what is wrong with it, when one is."""

    def __init__(self, message: str, index: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.index = index
        self.reason = reason


class Unexplained(ValueError):
    """No state of the family explains the draws (a different generator, a gap, a re-seed);
    ``str()`` says where the draws stop fitting."""


@dataclass(frozen=True)
class Recovery:
    """A recovered state and what it predicts."""

    family: str
    projection: str
    method: str
    #: The family's state right before the first draw, as ``mimicry`` reports states.
    state: int | list[int]
    #: The draws after the newest one, in the draws' own form: where several states fit, the
    #: continuation of the usual case (``usual``) if it is among them, else of the most states.
    next: list[Draw]
    #: Draws the solver needed; the rest were checked by replaying from the state.
    used: int
    checked: int
    #: States that fit every draw, and how many of them continue as ``next``.
    states_fitting: int
    support: int
    #: Leading values of ``next`` that every fitting state predicts.
    agreed: int
    #: The other continuations, most supported first: ``{"next", "support", "labels"}``.
    alternatives: list[dict]
    #: What the solver calls its states (V8: "cache position"), and the usual case among them
    #: when it is behind ``next`` (V8: position 0, where a fresh process starts), in words.
    labels: list[int]
    usual: str | None
    #: Word bits the draws fix, and the bits of state that can reach an output.
    known_bits: int
    state_bits: int
    seconds: float

    @property
    def chance_log2(self) -> float:
        """log2 of an upper bound on the chance that a random history of this length fits some
        state (at most ``2**state_bits`` of the ``2**known_bits`` histories are fits)."""
        return min(0.0, float(self.state_bits - self.known_bits))

    def to_json(self) -> dict:
        return {
            "family": self.family,
            "projection": self.projection,
            "method": self.method,
            "state": self.state,
            "next": self.next,
            "used": self.used,
            "checked": self.checked,
            "states_fitting": self.states_fitting,
            "support": self.support,
            "agreed": self.agreed,
            "alternatives": self.alternatives,
            "labels": self.labels,
            "usual": self.usual,
            "known_bits": self.known_bits,
            "state_bits": self.state_bits,
            "chance_log2": self.chance_log2,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Solved:
    """What a solver returns: a state ``words_past`` words after the first draw's first word
    (by default right after the last word it used), and how many words it needed."""

    state: State
    used_words: int
    method: str
    #: Other states that fit every draw used, as far past the start (V8: the cache position).
    alternatives: tuple[State, ...] = ()
    #: Words between the first draw's start and ``state`` (None: ``used_words``).
    words_past: int | None = None
    #: A label for ``state`` and each alternative (V8: its cache position), and the label of
    #: the usual case with its words (V8: 0, "a fresh process's first Math.random()").
    labels: tuple[int, ...] = ()
    usual: tuple[int, str] | None = None


#: A solver: (family, reading, words known as (mask, value), in order) -> Solved.
Solver = Callable[[Family, Reading, list[tuple[int, int]]], Solved]


def _solvers() -> dict[str, tuple[Solver, tuple[str, ...], int]]:
    """Family -> (solver, readings it accepts, bits of state that reach an output)."""
    from mimicry.recovery import glibc, java, mersenne, v8

    mt_readings = ("raw", "php_mt_rand", "python_getrandbits", "python_random_float")
    return {
        "mt19937": (mersenne.solve, mt_readings, mersenne.STATE_BITS),
        "python_random": (mersenne.solve, mt_readings, mersenne.STATE_BITS),
        "php5_mt": (mersenne.solve, ("raw", "php_mt_rand"), mersenne.STATE_BITS),
        "glibc_rand": (glibc.solve, ("raw",), glibc.STATE_BITS),
        "java_random": (java.solve, ("java_nextint32", "java_nextint", "raw"), java.STATE_BITS),
        "v8": (v8.solve, ("v8_math_random",), v8.STATE_BITS),
    }


DEFAULT_READINGS = {
    "php5_mt": "php_mt_rand",
    "python_random": "python_getrandbits",
    "java_random": "java_nextint32",
    "v8": "v8_math_random",
}


def reading_for(
    family_name: str, projection: str | None, bits: int | None, modulus: int | None = None
) -> Reading:
    """The reading ``projection`` names for ``family_name``; RecoveryError when the pair is
    not one this release can recover."""
    solvers = _solvers()
    if family_name not in solvers:
        raise RecoveryError(
            f"--family: state recovery knows {', '.join(sorted(solvers))}, not {family_name!r}"
        )
    _, accepted, _ = solvers[family_name]
    name = projection or DEFAULT_READINGS.get(family_name, "raw")
    if name not in accepted:
        raise RecoveryError(
            f"--projection: {family_name} state recovery reads {', '.join(accepted)}, not {name!r}"
        )
    word_bits = get_family(family_name).word_bits
    if name == "python_getrandbits":
        bits = 32 if bits is None else bits
        if not 1 <= bits <= 32:
            raise RecoveryError(f"--bits: getrandbits(k) reads 1 to 32 bits a word, not {bits}")
        return READINGS[name](word_bits=word_bits, bits=bits)
    if bits is not None:
        raise RecoveryError(f"--bits applies to python_getrandbits only, not to {name}")
    if name == "java_nextint":
        if problem := java_bound_problem(modulus):
            raise RecoveryError(f"--modulus: {problem}")
        return READINGS[name](word_bits=word_bits, bound=modulus)
    if modulus is not None:
        raise RecoveryError(f"--modulus applies to java_nextint only, not to {name}")
    return READINGS[name](word_bits=word_bits)


def java_bound_problem(modulus: int | None) -> str | None:
    """Why ``nextInt(modulus)`` draws are out of this solver's reach, with what was measured
    (docs/design.md §23), or None: M a power of two from 8 to 2^31."""
    if modulus is None:
        return "java_nextint state recovery needs the bound M of nextInt(M)"
    if not 2 <= modulus <= 1 << 31:
        return f"nextInt(M) takes M from 2 to 2147483648, got {modulus}"
    if modulus & (modulus - 1):
        return (
            f"nextInt({modulus}) is next(31) mod {modulus}, which bounds no bits of the state, "
            f"so no lattice of this solver can use it; to find a seed, sieve it: mimicry sieve "
            f"--family java_random --projection java_nextint --modulus {modulus}"
        )
    if modulus < 8:
        bits = modulus.bit_length() - 1
        draws = -(-48 // bits)
        return (
            f"nextInt({modulus}) shows {bits} bit{'s' if bits > 1 else ''} of the 48-bit state "
            f"a draw, and the lattice search left more than one state in {draws} + 2 and "
            f"{draws} + 4 such draws after 2,000,000 nodes (10 to 30 s, measured); nextInt(8) "
            f"and larger powers of two are solved (18 draws of nextInt(8) in 0.5 s)"
        )
    return None


def recover(
    draws: Sequence[Draw],
    family_name: str,
    projection: str | None = None,
    *,
    bits: int | None = None,
    modulus: int | None = None,
    predict: int = 10,
) -> Recovery:
    """The state behind ``draws`` (oldest first) and the ``predict`` draws after them."""
    started = time.perf_counter()
    reading = reading_for(family_name, projection, bits, modulus)
    solver, _, state_bits = _solvers()[family_name]
    family = get_family(family_name)
    known: list[tuple[int, int]] = []
    for index, draw in enumerate(draws):
        try:
            known += reading.known(reading.checked(draw))
        except ReadingError as error:
            raise RecoveryError(f"draw {index + 1}: {error}", index, str(error)) from None
    solved = solver(family, reading, known)
    used = math.ceil(solved.used_words / reading.words_per_draw)
    replays = []
    walk_back = solved.used_words if solved.words_past is None else solved.words_past
    for state in (solved.state, *solved.alternatives):
        for _ in range(walk_back):
            state = family.prev(state)
        replayed = replay(family, state, reading, len(draws) + predict)
        for index, (draw, expected) in enumerate(zip(draws, replayed, strict=False)):
            if draw != expected:
                raise Unexplained(
                    f"no {family_name} state explains these {reading.name} draws: replayed "
                    f"from the state solved from the first {used}, draw {index + 1} would be "
                    f"{expected!r}, and the file has {draw!r}"
                )
        replays.append((state, replayed[len(draws) :]))
    labels = list(solved.labels) or list(range(len(replays)))
    groups = continuations(replays, labels, solved.usual[0] if solved.usual else None)
    (state, predicted), supported_by = groups[0]
    agreed = 0
    while agreed < predict and all(other[agreed] == predicted[agreed] for _, other in replays):
        agreed += 1
    usual = solved.usual
    return Recovery(
        family=family_name,
        projection=reading.name,
        method=solved.method,
        state=family.state_to_json(state),
        next=predicted,
        used=used,
        checked=len(draws) - used,
        states_fitting=len(replays),
        support=len(supported_by),
        agreed=agreed,
        alternatives=[
            {"next": other, "support": len(by), "labels": by} for (_, other), by in groups[1:]
        ],
        labels=labels if solved.labels else [],
        usual=usual[1] if usual is not None and usual[0] in supported_by else None,
        known_bits=reading.known_bits * len(draws),
        state_bits=state_bits,
        seconds=time.perf_counter() - started,
    )


def continuations(
    replays: list[tuple[State, list[Draw]]], labels: list[int], usual: int | None
) -> list[tuple[tuple[State, list[Draw]], list[int]]]:
    """The fitting states grouped by what they predict: each distinct continuation once (with
    the first state that makes it) and the labels of the states behind it. The usual case's
    group first, then the most supported."""
    groups: dict[tuple, tuple[tuple[State, list[Draw]], list[int]]] = {}
    for (state, predicted), label in zip(replays, labels, strict=True):
        key = tuple(predicted)
        if key not in groups:
            groups[key] = ((state, predicted), [])
        groups[key][1].append(label)
    return sorted(groups.values(), key=lambda group: (usual not in group[1], -len(group[1])))


def replay(family: Family, state: State, reading: Reading, count: int) -> list[Draw]:
    """The first ``count`` draws from ``state``."""
    words = family.words(state)
    return [
        reading.draw(tuple(next(words) for _ in range(reading.words_per_draw)))
        for _ in range(count)
    ]


def too_few(
    family_name: str, reading: Reading, needed_words: int, have_words: int
) -> RecoveryError:
    """The sentence for a history shorter than the method needs."""
    needed = math.ceil(needed_words / reading.words_per_draw)
    have = have_words // reading.words_per_draw
    return RecoveryError(
        f"{family_name} state recovery from {reading.name} draws needs at least {needed} "
        f"consecutive draws; the history has {have}"
    )
