"""State recovery (issue 13): the peers' documented cases and random ones, each history made
by the real runtime in the test (CPython, php-cli, the JDK, Node, glibc through ctypes), the
recovered state checked by the next draws the runtime makes after it.

The solvers' property: for any state and any reading, the answer reproduces every draw and
predicts the next ones exactly, or says it cannot (too few draws, several states fit); it never
reports a wrong state.
"""

from __future__ import annotations

import json
import random
import re
import secrets

import pytest

from gpu_kernels.registry import get_family
from mimicry.recovery import RecoveryError, Unexplained, recover
from tests.runtimes import glibc, java_random, run_node, run_php
from tests.test_cli import mimicry, only_json

# -- Mersenne Twister ------------------------------------------------------------------------


def test_randcrack_case_624_words_from_mid_stream_predict_cpython():
    """randcrack's case: 624 getrandbits(32) from an unknown seed, not at a twist boundary."""
    generator = random.Random(secrets.randbits(64))
    for _ in range(secrets.randbelow(2000)):
        generator.getrandbits(32)
    draws = [generator.getrandbits(32) for _ in range(700)]
    truth = [generator.getrandbits(32) for _ in range(20)]
    answer = recover(draws, "python_random", "python_getrandbits", predict=20)
    assert answer.next == truth
    assert (answer.used, answer.checked) == (624, 76)
    assert answer.method == "untemper"
    # The state is CPython's own: set it and the same draws come out.
    *words, index = answer.state
    assert index == 0
    clone = random.Random()
    clone.setstate((3, (*words, 624), None))
    assert [clone.getrandbits(32) for _ in range(700)] == draws


def test_624_whole_words_carry_31_bits_of_evidence():
    """The first word's low 31 bits are fixed by the 624th and the 397th (the twist that made
    the 624th used them), so 624 words are 19,968 bits about 19,937 of state."""
    generator = random.Random(secrets.randbits(64))
    draws = [generator.getrandbits(32) for _ in range(624)]
    answer = recover(draws, "mt19937", "raw", predict=3)
    assert answer.checked == 0 and answer.chance_log2 == -31.0
    assert answer.next == [generator.getrandbits(32) for _ in range(3)]


@pytest.mark.parametrize("count", [624, 700])
def test_words_that_are_not_mt19937_are_unexplained(count):
    draws = [secrets.randbits(32) for _ in range(count)]
    with pytest.raises(Unexplained, match="no mt19937 state explains these raw draws"):
        recover(draws, "mt19937", "raw")


def test_php_mt_rand_from_an_unknown_seed_predicts_php():
    """mt_rand() keeps 31 bits a word: GF(2) over the missing bit of each (1,248 draws)."""
    seed = secrets.randbits(32)
    out = run_php(f'mt_srand({seed}); for ($i = 0; $i < 1400; $i++) echo mt_rand(), "\\n";').split()
    values = [int(v) for v in out]
    answer = recover(values[:1300], "mt19937", "php_mt_rand", predict=100)
    assert answer.next == values[1300:]
    assert answer.used == 1248 and answer.checked == 52
    assert answer.chance_log2 < -20000


def test_php5_mt_rand_is_told_apart_from_php7():
    """PHP 5.2.1-7.0's twist (MT_RAND_PHP): its own family recovers it, mt19937 cannot."""
    seed = secrets.randbits(32)
    script = (
        "error_reporting(E_ALL & ~E_DEPRECATED); "
        f'mt_srand({seed}, MT_RAND_PHP); for ($i = 0; $i < 1310; $i++) echo mt_rand(), "\\n";'
    )
    values = [int(v) for v in run_php(script).split()]
    answer = recover(values[:1300], "php5_mt", predict=10)
    assert answer.next == values[1300:]
    with pytest.raises(Unexplained):
        recover(values[:1300], "mt19937", "php_mt_rand")


def test_php_mt_rand_too_short_says_how_many_it_needs():
    values = [
        int(v)
        for v in run_php('mt_srand(5); for ($i = 0; $i < 700; $i++) echo mt_rand(), "\\n";').split()
    ]
    with pytest.raises(
        RecoveryError, match="needs at least 1248 consecutive draws; the history has 700"
    ):
        recover(values, "mt19937", "php_mt_rand")


def test_python_random_floats_predict_cpython():
    generator = random.Random(secrets.randbits(128))
    draws = [generator.random() for _ in range(700)]
    truth = [generator.random() for _ in range(10)]
    answer = recover(draws, "python_random", "python_random_float", predict=10)
    assert answer.next == truth
    assert answer.used == 624  # 1,248 words: two a draw


@pytest.mark.parametrize("bits", [12, 16, 24, 31, 32])
def test_any_truncation_reproduces_the_stream_or_says_it_cannot(bits):
    """The property, over random states and getrandbits(k) readings."""
    generator = random.Random(secrets.randbits(64))
    count = 624 * (int(31.9 // bits) + 1) if bits < 32 else 624
    draws = [generator.getrandbits(bits) for _ in range(count + 40)]
    truth = [generator.getrandbits(bits) for _ in range(30)]
    answer = recover(draws, "python_random", "python_getrandbits", bits=bits, predict=30)
    assert answer.next == truth
    with pytest.raises(RecoveryError, match="needs at least"):
        recover(draws[: count - 1], "python_random", "python_getrandbits", bits=bits)


def test_getrandbits_below_eight_bits_is_refused_with_the_reason():
    with pytest.raises(
        RecoveryError,
        match="fix 4 bits of a word; this solver needs at least 8: with 4 it would take 4,992 "
        "draws and 139,776 unknown bits",
    ):
        recover([1] * 5000, "python_random", "python_getrandbits", bits=4)


# -- java.util.Random ------------------------------------------------------------------------


def test_java_two_nextints_give_the_state_peer_vector_seed_42():
    """The classic attack's documented vector: new Random(42).nextInt() twice."""
    answer = recover([-1170105035, 234785527], "java_random", predict=3)
    assert answer.state == 42 ^ 0x5DEECE66D  # the LCG state of new Random(42)
    assert answer.checked == 0 and answer.chance_log2 == -16.0


def test_java_nextint_from_the_jdk_predicts_the_jdk():
    seed = secrets.randbits(63)
    values = java_random([(seed, 0, 40)])[0]
    answer = recover(values[5:30], "java_random", "java_nextint32", predict=10)
    assert answer.next == values[30:]
    assert answer.used in (2, 3) and answer.used + answer.checked == 25


@pytest.mark.parametrize("bound", [8, 16, 256, 2**20])
def test_java_nextint_of_a_power_of_two_by_lattice_predicts_the_jdk(bound):
    seed = secrets.randbits(63)
    values = java_random([(seed, bound, 80)])[0]
    answer = recover(values[10:70], "java_random", "java_nextint", modulus=bound, predict=10)
    assert answer.next == values[70:]
    assert answer.states_fitting == 1 and answer.method.startswith("lattice")


def test_latticg_vector_sixteen_zeros_of_nextint_8():
    """LattiCG's DynamicProgramTest: 16 nextInt(8) of 0 come from state 211804640834172."""
    state = 211804640834172
    values = java_random([(state ^ 0x5DEECE66D, 8, 16)])[0]
    assert values == [0] * 16
    answer = recover(values, "java_random", "java_nextint", modulus=8, predict=3)
    assert answer.state == state and answer.states_fitting == 1


@pytest.mark.parametrize(
    ("modulus", "reason"),
    [
        (None, "java_nextint state recovery needs the bound M of nextInt(M)"),
        (2**32, "nextInt(M) takes M from 2 to 2147483648, got 4294967296"),
        (
            4,
            "nextInt(4) shows 2 bits of the 48-bit state a draw, and the lattice search left "
            "more than one state in 24 + 2 and 24 + 4 such draws after 2,000,000 nodes",
        ),
        (2, "nextInt(2) shows 1 bit of the 48-bit state a draw"),
        (12, "nextInt(12) is next(31) mod 12, which bounds no bits of the state"),
    ],
)
def test_java_nextint_bounds_out_of_reach_are_refused_with_the_measured_reason(modulus, reason):
    with pytest.raises(RecoveryError, match=re.escape("--modulus: " + reason)):
        recover([1] * 60, "java_random", "java_nextint", modulus=modulus)


def test_an_odd_java_bound_is_found_by_the_sieve_the_refusal_names(tmp_path):
    """JDK nextInt(3) draws: recovery refuses and names `mimicry sieve`, which finds the seed."""
    from tests.test_cli import mimicry, only_json

    seed = 2**40 + secrets.randbelow(50_000)
    values = java_random([(seed, 3, 40)])[0]
    with pytest.raises(
        RecoveryError,
        match="sieve it: mimicry sieve --family java_random --projection java_nextint --modulus 3",
    ):
        recover(values, "java_random", "java_nextint", modulus=3)
    (tmp_path / "draws.txt").write_text("".join(f"{v}\n" for v in values))
    low = 2**40
    found = only_json(
        mimicry(
            tmp_path,
            "sieve",
            "draws.txt",
            "--family",
            "java_random",
            "--projection",
            "java_nextint",
            "--modulus",
            "3",
            "--seeds",
            f"{low}..{low + 49_999}",
            "--json",
        )
    )
    best = found["survivors"][0]  # chance survivors of the 8-draw window fail the other 32
    assert best["seed"] == seed and best["matches_after"] == 32
    assert found["stats"]["significant"] is True


def test_java_nextint_too_few_draws_says_how_many():
    with pytest.raises(
        RecoveryError, match="needs at least 12 consecutive draws; the history has 9"
    ):
        recover([1] * 9, "java_random", "java_nextint", modulus=16)


# -- glibc rand() ----------------------------------------------------------------------------


def test_glibc_rand_mid_stream_predicts_glibc():
    words = glibc().rand_words(secrets.randbits(32), 900)
    answer = recover(words[300:700], "glibc_rand", predict=200)
    assert answer.next == words[700:]
    assert 31 < answer.used < 400


def test_glibc_untwister_vector_seed_1337():
    words = glibc().rand_words(1337, 400)
    assert words[:5] == [292616681, 1638893262, 255706927, 995816787, 588263094]
    answer = recover(words[:300], "glibc_rand", predict=100)
    assert answer.next == words[300:]
    # Walked back to before the first draw, the state is srand(1337)'s.
    family = get_family("glibc_rand")
    assert tuple(answer.state) == family.seed(1337)


def test_glibc_too_few_draws_say_how_many_low_bits_are_still_open():
    words = glibc().rand_words(99, 40)
    with pytest.raises(RecoveryError, match=r"more than the 40 .* leave \d+ of the 31 hidden"):
        recover(words, "glibc_rand")
    with pytest.raises(RecoveryError, match="needs at least 31 consecutive draws"):
        recover(words[:20], "glibc_rand")


def test_glibc_draws_that_break_the_recurrence_are_unexplained():
    words = glibc().rand_words(7, 200)
    words[120] ^= 1 << 20
    with pytest.raises(Unexplained, match="draw 121"):
        recover(words, "glibc_rand")


# -- V8 Math.random() ------------------------------------------------------------------------


def node_doubles(count: int, *flags: str) -> list[float]:
    script = f"console.log(JSON.stringify(Array.from(Array({count}), Math.random)))"
    return json.loads(run_node(script, *flags))


def test_v8_across_a_cache_refill_predicts_node():
    """An unseeded Node: 200 doubles, 20 of them from the middle of a block past a refill."""
    values = node_doubles(240)
    answer = recover(values[50:70], "v8", predict=40)
    assert answer.states_fitting == 1
    assert answer.next == values[70:110]


def test_v8_seeded_node_gives_the_seeded_state():
    values = node_doubles(70, "--random-seed=1337")
    answer = recover(values, "v8", predict=5)
    family = get_family("v8")
    assert tuple(answer.state) == family.seed(1337)
    assert answer.used == 64  # the 65th double is the first after the refill


def test_v8_inside_one_block_predicts_every_continuation_the_fitting_states_allow():
    values = node_doubles(30, "--random-seed=99")
    answer = recover(values[:10], "v8", predict=20)
    # Draws 1-10 fit at places 0-54 of the first block: the states part at the next refill,
    # each place at its own value; the places that reach no refill in 20 values agree.
    assert answer.states_fitting == 55 and answer.labels == list(range(55))
    assert len(answer.next) == 20 and answer.agreed < 20
    assert answer.support + sum(a["support"] for a in answer.alternatives) == 55
    # Places 0..K-1 reach no refill within 20 values; each place above parts on its own.
    behind_next = 55 - len(answer.alternatives)
    assert answer.support == behind_next
    assert sorted(label for a in answer.alternatives for label in a["labels"]) == list(
        range(behind_next, 55)
    )
    for alternative in answer.alternatives:  # every continuation starts as every other does
        assert alternative["next"][: answer.agreed] == answer.next[: answer.agreed]
        assert len(alternative["next"]) == 20 and alternative["next"] != answer.next


def test_v8_from_a_fresh_node_process_predicts_what_node_prints_next(tmp_path):
    """A new `node` process, unseeded: its first double is at cache position 0, one of the
    45 positions 20 doubles fit; `next` follows it, and the other continuations are listed."""
    values = node_doubles(40)
    answer = recover(values[:20], "v8", predict=20)
    assert answer.states_fitting == 45 and answer.agreed == 0  # position 44 refills at once
    assert answer.next == values[20:40]
    assert answer.usual == "cache position 0, where a fresh process's first Math.random() is"
    assert answer.support == 25  # positions 0-24 reach no refill within 20 values
    assert [a["support"] for a in answer.alternatives] == [1] * 20
    assert all(a["next"][0] == values[20] for a in answer.alternatives[:-1])
    # The terminal says which continuation `next` is and where the others begin.
    (tmp_path / "doubles.json").write_text(json.dumps(values[:20]))
    shown = mimicry(tmp_path, "recover", "doubles.json", "--family", "v8", "--predict", "20")
    assert shown.returncode == 0, shown.stderr
    flat = " ".join(shown.stdout.split())
    assert (
        "45 states fit every draw (cache position 0-44); they part at the first value into 21 "
        "continuations: next follows cache position 0, where a fresh process's first "
        "Math.random() is, and 24 more (25 of 45); --json lists the 20 others with the states "
        "behind each."
    ) in flat
    assert f"next 20: {values[20]!r}" in flat


def test_v8_floats_that_are_not_math_random_are_unexplained():
    with pytest.raises(Unexplained):
        recover([secrets.randbits(52) / 2**52 for _ in range(20)], "v8")


# -- the command -------------------------------------------------------------------------------

RECOVER_KEYS = {
    "family",
    "projection",
    "method",
    "state",
    "next",
    "used",
    "checked",
    "states_fitting",
    "support",
    "agreed",
    "alternatives",
    "labels",
    "usual",
    "known_bits",
    "state_bits",
    "chance_log2",
    "seconds",
}


def test_recover_json_contract_from_a_json_file_of_node_doubles(tmp_path):
    values = node_doubles(100, "--random-seed=20261130")
    (tmp_path / "doubles.json").write_text(json.dumps(values[30:90]))
    answer = only_json(mimicry(tmp_path, "recover", "doubles.json", "--family", "v8", "--json"))
    assert set(answer) == RECOVER_KEYS
    assert answer["next"] == values[90:100]
    assert answer["used"] + answer["checked"] == 60
    assert answer["state"] == list(_state_before(get_family("v8"), 20261130, 30))


def _state_before(family, seed: int, calls: int):
    state = family.seed(seed)
    for _ in range(calls):
        state, _ = family.next(state)
    return state


def test_recover_text_answer_for_signed_java_ints_in_a_txt_file(tmp_path):
    values = java_random([(-42, 0, 12)])[0]
    (tmp_path / "ints.txt").write_text("\n".join(map(str, values[:6])) + "\n")
    proc = mimicry(tmp_path, "recover", "ints.txt", "--family", "java_random", "--predict", "6")
    assert proc.returncode == 0, proc.stderr
    assert "java_random state recovered from 6 java_nextint32 draws" in proc.stdout
    assert "next 6: " + " ".join(map(str, values[6:])) in proc.stdout


def test_recover_exits_1_when_no_state_explains_the_draws(tmp_path):
    (tmp_path / "noise.txt").write_text("".join(f"{secrets.randbits(31)}\n" for _ in range(200)))
    proc = mimicry(tmp_path, "recover", "noise.txt", "--family", "glibc_rand", "--json")
    assert proc.returncode == 1
    answer = json.loads(proc.stdout)
    assert answer["state"] is None and "no glibc_rand state explains" in answer["reason"]


RECOVER_BAD_INPUT = {
    "unknown family": (
        ["--family", "pcg32"],
        "--family: state recovery knows glibc_rand, java_random, mt19937, php5_mt, "
        "python_random, v8, not 'pcg32'",
    ),
    "projection the family cannot read": (
        ["--family", "glibc_rand", "--projection", "php_mt_rand"],
        "--projection: glibc_rand state recovery reads raw, not 'php_mt_rand'",
    ),
    "bits without getrandbits": (
        ["--family", "mt19937", "--bits", "16"],
        "--bits applies to python_getrandbits only, not to raw",
    ),
    "too few draws": (
        ["--family", "mt19937", "--projection", "php_mt_rand"],
        "mt19937 state recovery from php_mt_rand draws needs at least 1248 consecutive draws; "
        "the history has 3",
    ),
    "a float for an integer reading": (
        ["--family", "glibc_rand", "--draws", "1\n0.5\n"],
        "Draw file 'draws.txt', line 2: expected an integer draw, found '0.5'.",
    ),
    "a negative word": (
        ["--family", "mt19937", "--draws", "-4\n"],
        "Draw file 'draws.txt', line 1: value -4 is outside the range [0, 4294967296).",
    ),
    "a double Math.random cannot print": (
        ["--family", "v8", "--draws", "0.5\n0.1\n0.25\n0.75\n"],
        "Draw file 'draws.txt', line 2: expected a float in [0, 1) with 52 bits (a multiple "
        "of 2**-52), got 0.1.",
    ),
    "a double out of range": (
        ["--family", "v8", "--draws", "0.5\n1.5\n"],
        "Draw file 'draws.txt', line 2: value 1.5 is outside the range [0, 1).",
    ),
    "predict out of range": (
        ["--family", "glibc_rand", "--predict", "-1"],
        "--predict must be between 0 and 100000, got -1",
    ),
}


@pytest.mark.parametrize("kind", RECOVER_BAD_INPUT)
def test_recover_bad_input_is_one_sentence_and_exit_code_2(tmp_path, kind):
    flags, sentence = RECOVER_BAD_INPUT[kind]
    draws = "1\n2\n3\n"
    if "--draws" in flags:
        at = flags.index("--draws")
        draws = flags[at + 1]
        flags = flags[:at] + flags[at + 2 :]
    (tmp_path / "draws.txt").write_text(draws)
    proc = mimicry(tmp_path, "recover", "draws.txt", *flags)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() == f"mimicry: error: {sentence}"
