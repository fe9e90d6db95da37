"""What one observed draw says about the raw words it was made from, and the way back.

A *reading* is the output form a program printed: a raw word, PHP's ``mt_rand()`` (the word
shifted right by one), CPython's ``getrandbits(k)`` (the top k bits), ``random.random()`` (two
words' top 27 and 26 bits as a double), Java's ``nextInt()`` (the word as a signed int). Each
reading knows which bits of which words a draw fixes (``known``), which is what the linear
solvers need, and how words become the draw (``draw``), which is what the predictions and the
checks of unused draws need. Readings are linear on purpose: a draw fixes some word bits and says
nothing about the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from gpu_kernels.projections import PROJECTIONS, DrawError, Projection
from mimicry.draws import Domain

Draw = int | float


class ReadingError(ValueError):
    """A draw that this reading cannot have produced (a float for an integer reading, a value
    out of its range); ``str()`` says what was expected."""


@dataclass(frozen=True)
class Reading(ABC):
    """How draws are made from ``word_bits``-bit words, ``words_per_draw`` words a draw.

    The words-to-draw arithmetic, the draws' range and the check of a double's bits are the
    sieve projection's of the same name (:mod:`gpu_kernels.projections`), defined once there;
    a reading adds which word bits a draw fixes."""

    name: ClassVar[str]
    description: ClassVar[str]
    words_per_draw: ClassVar[int] = 1
    word_bits: int = 32

    @property
    def projection(self) -> Projection:
        """The sieve projection of the same name, which makes these draws."""
        return PROJECTIONS[self.name]

    @property
    def modulus(self) -> int:
        """The projection's M: its own range, or the bound a reading carries."""
        fixed = self.projection.modulus_for(self.word_bits)
        assert fixed is not None, f"{self.name} must say its bound"
        return fixed

    @abstractmethod
    def known(self, draw: Draw) -> list[tuple[int, int]]:
        """For each word of the draw: (mask of the bits the draw fixes, their values)."""

    def draw(self, words: tuple[int, ...]) -> Draw:
        """The draw the words make, in the form the program printed."""
        projection = self.projection
        return projection.decode(projection.value(words, self.modulus, self.word_bits))

    @property
    def known_bits(self) -> int:
        """Word bits one draw fixes."""
        return sum(
            mask.bit_count() for mask, _ in self.known(self.draw((0,) * self.words_per_draw))
        )

    def checked(self, draw: Draw) -> Draw:
        """``draw`` if this reading can produce it; :class:`ReadingError` otherwise."""
        if isinstance(draw, float):
            raise ReadingError(f"expected an integer ({self.range_text()}), got {draw!r}")
        low, high = self.range()
        if not low <= draw <= high:
            raise ReadingError(f"expected an integer {self.range_text()}, got {draw}")
        return draw

    def range(self) -> tuple[int, int]:
        low, high, _ = self.projection.domain(self.modulus)
        return low, high - 1

    def domain(self) -> Domain:
        """What a draw file may hold for this reading."""
        low, high, floats = self.projection.domain(self.modulus)
        return Domain(low, high, floats=floats)

    def range_text(self) -> str:
        low, high = self.range()
        return f"in [{low}, {high}]"


@dataclass(frozen=True)
class Raw(Reading):
    name = "raw"
    description = "the word itself (getrandbits(32), std::mt19937(), rand() of glibc)"

    def known(self, draw):
        return [((1 << self.word_bits) - 1, draw)]


@dataclass(frozen=True)
class PhpMtRand(Reading):
    name = "php_mt_rand"
    description = "PHP mt_rand() with no arguments: the word >> 1"

    def known(self, draw):
        return [(0xFFFFFFFE, draw << 1)]


@dataclass(frozen=True)
class _TopBits(Reading):
    """A draw that is its word's top ``top_bits`` bits (M = 2**top_bits)."""

    @property
    def top_bits(self) -> int:
        raise NotImplementedError

    @property
    def modulus(self) -> int:
        return 1 << self.top_bits

    def known(self, draw):
        shift = 32 - self.top_bits
        return [(((1 << self.top_bits) - 1) << shift, draw << shift)]


@dataclass(frozen=True)
class PythonGetrandbits(_TopBits):
    """CPython ``getrandbits(k)`` for k <= 32: the top k bits of one word (the sieve's
    ``python_getrandbits`` takes k <= 31; its arithmetic holds for 32)."""

    name = "python_getrandbits"
    description = "CPython getrandbits(k), k <= 32: the word's top k bits"
    bits: int = 32

    @property
    def top_bits(self) -> int:
        return self.bits


@dataclass(frozen=True)
class JavaNextInt32(Reading):
    """``java.util.Random.nextInt()``: ``next(32)`` as a signed int."""

    name = "java_nextint32"
    description = "java.util.Random.nextInt(): next(32) as a signed 32-bit int"

    def known(self, draw):
        return [(0xFFFFFFFF, draw & 0xFFFFFFFF)]


@dataclass(frozen=True)
class JavaNextIntBound(_TopBits):
    """``java.util.Random.nextInt(bound)`` for a power-of-two bound: the top ``log2(bound)``
    bits of ``next(31)``, which are the word's top bits."""

    name = "java_nextint"
    description = "java.util.Random.nextInt(M), M a power of two: the word's top log2(M) bits"
    bound: int = 16

    @property
    def top_bits(self) -> int:
        return self.bound.bit_length() - 1


@dataclass(frozen=True)
class _Double(Reading):
    """A double in [0, 1) made from ``precision`` word bits: every one a multiple of
    ``2**-precision``, so the bits come back whole (the projection checks it)."""

    def checked(self, draw):
        try:
            self.projection.encode(draw)
        except DrawError as error:
            raise ReadingError(str(error)) from None
        return float(draw)

    def range_text(self):
        return "a float in [0, 1)"


@dataclass(frozen=True)
class PythonRandomFloat(_Double):
    """CPython ``random.random()``: ``(a * 2**26 + b) / 2**53`` with ``a = w0 >> 5`` and
    ``b = w1 >> 6``."""

    name = "python_random_float"
    description = "CPython random.random(): two words' top 27 and 26 bits as a 53-bit double"
    words_per_draw = 2

    def known(self, draw):
        whole = self.projection.encode(draw)
        return [(0xFFFFFFE0, (whole >> 26) << 5), (0xFFFFFFC0, (whole & 0x3FFFFFF) << 6)]


@dataclass(frozen=True)
class V8MathRandom(_Double):
    """V8 7.1–13.4 (Node 12–23) ``Math.random()``: ``(state0 >> 12) / 2**52``."""

    name = "v8_math_random"
    description = "V8 Math.random() (Node 12-23): a 64-bit word's top 52 bits as a double"
    word_bits: int = 64

    def known(self, draw):
        return [(0xFFFFFFFFFFFFF000, self.projection.encode(draw) << 12)]


READINGS: dict[str, type[Reading]] = {
    reading.name: reading
    for reading in (
        Raw,
        PhpMtRand,
        PythonGetrandbits,
        PythonRandomFloat,
        JavaNextInt32,
        JavaNextIntBound,
        V8MathRandom,
    )
}
