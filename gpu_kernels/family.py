"""The family interface: a bit generator that knows only its state and its raw words.

Like numpy's ``BitGenerator``, a family turns a seed into a state and a state into a stream of
unsigned words. How words become draws in ``[0, M)`` is a projection's business
(:mod:`gpu_kernels.projections`), so every projection works with every family whose word width
it accepts.

Each family has two twins that must agree word for word:

* the *reference* methods on the class (plain Python ints, the ground truth of the tests), and
* a :class:`NumbaKernels` bundle of ``@njit`` functions over a ``uint64`` state array, which the
  CPU backend specialises its sieve loops on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import ClassVar

#: A reference state: an int for one-word states, a tuple of ints otherwise. Immutable, so a
#: state can be kept, compared and hashed while the search walks on from it.
State = int | tuple


class NumbaKernels:
    """The ``@njit`` twin of a family, over a state held in a ``numpy.uint64`` array.

    * ``state_words``: length of the state array.
    * ``seed(seed: uint64, state: uint64[:]) -> None``: the state that :meth:`Family.seed` gives.
    * ``next(state: uint64[:]) -> uint64``: advance in place, return the word.
    * ``set_state(value: uint64, state: uint64[:]) -> None``: only for families with
      ``state_search``; the state whose reference form is the int ``value``.

    The twins are plain functions until numba needs them (:mod:`gpu_kernels.jit`); reading one
    here gives its numba dispatcher, and ``functions`` the plain functions themselves.
    """

    def __init__(
        self,
        state_words: int,
        seed: Callable,
        next: Callable,
        set_state: Callable | None = None,
    ) -> None:
        self.state_words = state_words
        self.functions = {"seed": seed, "next": next, "set_state": set_state}

    def _compiled(self, role: str) -> Callable | None:
        from gpu_kernels.jit import compiled

        function = self.functions[role]
        return None if function is None else compiled(function)

    @property
    def seed(self) -> Callable:
        return self._compiled("seed")

    @property
    def next(self) -> Callable:
        return self._compiled("next")

    @property
    def set_state(self) -> Callable | None:
        return self._compiled("set_state")


class Family(ABC):
    """A pseudo-random generator family: seeding, one forward step and (optionally) one back."""

    name: ClassVar[str]
    #: Width of one raw word (15 for msvc_rand, 31 for glibc_rand, 32, 64).
    word_bits: ClassVar[int]
    #: Size of the seed space that :meth:`seed` accepts: seeds are ints in ``[0, 2**seed_bits)``.
    seed_bits: ClassVar[int]
    #: Size of the internal state in bits.
    state_bits: ClassVar[int]
    #: True when the whole state is small enough to enumerate (state mode).
    state_search: ClassVar[bool] = False
    #: Inclusive range of meaningful states for state mode (``None``: ``[0, 2**state_bits)``).
    state_range: ClassVar[tuple[int, int] | None] = None
    #: The seeds a search sweeps when it is given none (``None``: the whole seed space). A
    #: family whose seeds are wider than the ones programs use (CPython seeds millisecond
    #: timestamps, but mostly 32-bit values) sweeps the common ones by default.
    default_seed_range: ClassVar[tuple[int, int] | None] = None
    #: What the family is checked against, for docs and ``mimicry families``.
    verified_against: ClassVar[str] = ""

    # -- the reference twin -------------------------------------------------------------------

    @abstractmethod
    def seed(self, seed: int) -> State:
        """The state right after seeding with ``seed``, before the first word."""

    @abstractmethod
    def next(self, state: State) -> tuple[State, int]:
        """Advance one step: the new state and the word it produced."""

    def prev(self, state: State) -> State:
        """The state that :meth:`next` maps to ``state`` (one step back).

        Only families with ``has_prev`` implement it.
        """
        raise NotImplementedError(f"{self.name} has no inverse step")

    @property
    def has_prev(self) -> bool:
        return type(self).prev is not Family.prev

    def state_from_int(self, value: int) -> State:
        """The state that state mode calls ``value`` (only for ``state_search`` families)."""
        if not self.state_search:
            raise NotImplementedError(f"{self.name} does not support state mode")
        return value

    def state_to_json(self, state: State) -> int | list[int]:
        """The state as reported to users: an int, or a list of words."""
        return state if isinstance(state, int) else list(state)

    # -- the numba twin -----------------------------------------------------------------------

    #: Filled in by each family module; ``None`` means the cpu backend cannot sieve it.
    numba: ClassVar[NumbaKernels | None] = None

    # -- conveniences built on next/prev -------------------------------------------------------

    def words(self, state: State) -> Iterator[int]:
        """An endless iterator over the words that follow ``state``."""
        while True:
            state, word = self.next(state)
            yield word

    def candidate_space(self, mode: str = "seed") -> tuple[int, int]:
        """The inclusive range a search enumerates in ``mode``: seeds (``"seed"``) or, for
        families with ``state_search``, the states at the first window draw (``"state"``)."""
        if mode == "state":
            if not self.state_search:
                raise NotImplementedError(
                    f"state mode needs a family whose whole state can be enumerated; "
                    f"{self.name} has a {self.state_bits}-bit state"
                )
            return self.state_range or (0, (1 << self.state_bits) - 1)
        return (0, (1 << self.seed_bits) - 1)

    def default_candidates(self, mode: str = "seed") -> tuple[int, int]:
        """The inclusive range a search sweeps in ``mode`` when it is given none."""
        if mode == "seed" and self.default_seed_range is not None:
            return self.default_seed_range
        return self.candidate_space(mode)

    def __repr__(self) -> str:
        return f"<family {self.name}>"
