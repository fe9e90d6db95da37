"""`mimicry sieve` end to end, through the installed command in a subprocess (docs/design.md §11).

* ``--json`` prints exactly one JSON object with the contract keys (job, survivors, stats).
* A known seed is recovered from a .txt, a .csv and a .json draw file (sessions selected with
  ``--session``), with the right continuation.
* Without ``--json`` a table is printed.
* Bad input: one sentence on stderr, exit code 2, nothing on stdout; one test per kind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gpu_kernels.job import SieveJob
from gpu_kernels.registry import family_names
from tests.history import seeded_history, write_draws

_SCRIPT = Path(sys.executable).with_name("mimicry")
MIMICRY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "mimicry_cli"]

SURVIVOR_KEYS = {
    "family",
    "projection",
    "seed",
    "state",
    "offset",
    "skip",
    "window",
    "matches",
    "matches_before",
    "matches_after",
    "p_value",
    "next",
}
STATS_KEYS = {
    "candidates_tested",
    "hypotheses",
    "seconds",
    "candidates_per_second",
    "expected_false_survivors",
    "survivor_count",
    "significant",
    "complete",
}


def mimicry(
    cwd: Path, *args: str, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command in ``cwd`` with a home of its own there and no MIMICRY_ setting of this
    process's, only ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MIMICRY_")}
    env.update(MIMICRY_HOME=str(cwd / "home"), COLUMNS="200", NO_COLOR="1", **(settings or {}))
    return subprocess.run(
        [*MIMICRY, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def only_json(proc: subprocess.CompletedProcess[str]) -> dict:
    """The one JSON object on stdout (one line, nothing else)."""
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("\n") and proc.stdout.count("\n") == 1
    result = json.loads(proc.stdout)  # raises on anything after the object
    assert isinstance(result, dict)
    return result


# -- the JSON contract and recovering a seed ----------------------------------------------------

SEED = 20_240_611
TXT_HISTORY = seeded_history("mt19937", SEED, 24, offset=2)
TXT_FUTURE = seeded_history("mt19937", SEED, 3, offset=26)


def test_json_contract_and_seed_from_a_txt_file(tmp_path):
    write_draws(tmp_path / "draws.txt", TXT_HISTORY)
    proc = mimicry(
        tmp_path,
        "sieve",
        "draws.txt",
        "--family",
        "mt19937",
        "--seeds",
        f"{SEED - 700}..{SEED + 300}",
        "--offsets",
        "0..9",
        "--window",
        "6",
        "--window-start",
        "4",
        "--predict",
        "3",
        "--json",
    )
    result = only_json(proc)
    assert set(result) == {"job", "survivors", "stats", "verdict"}
    assert result["verdict"].startswith("A search of this size (10,010 hypotheses)")

    job = SieveJob.model_validate(result["job"])
    assert job == SieveJob(
        family="mt19937",
        window=tuple(TXT_HISTORY[4:10]),
        window_start=4,
        candidate_range=(SEED - 700, SEED + 300),
        offsets=(0, 9),
    )

    assert result["survivors"]
    for survivor in result["survivors"]:
        assert set(survivor) >= SURVIVOR_KEYS
        assert isinstance(survivor["p_value"], float) and 0 <= survivor["p_value"] <= 1
    best = result["survivors"][0]
    assert best["family"] == "mt19937" and best["projection"] == "mod"
    assert (best["seed"], best["state"]) == (SEED, None)
    # The offset counts calls before the stream's first draw, wherever the window starts.
    assert (best["offset"], best["first_call"], best["skip"]) == (2, 2 + 4, 0)
    assert best["window"] == {"start": 4, "size": 6}
    assert (best["matches"], best["matches_before"], best["matches_after"]) == (6, 4, 14)
    assert best["p_value"] < 1e-40
    assert best["next"] == TXT_FUTURE

    stats = result["stats"]
    assert set(stats) >= STATS_KEYS
    assert stats["candidates_tested"] == 1001
    assert stats["hypotheses"] == 1001 * 10
    assert stats["expected_false_survivors"] == pytest.approx(10010 / 1000**6)
    assert stats["survivor_count"] == len(result["survivors"]) == 1
    assert stats["significant"] is True and stats["complete"] is True
    assert stats["seconds"] >= 0 and stats["candidates_per_second"] > 0


def test_python_random_seeded_with_a_millisecond_timestamp_is_found(tmp_path):
    """random.seed(int(time.time() * 1000)) is a 41-bit seed: searchable when named, while a
    search given no seeds sweeps the 32-bit ones."""
    import random

    seed = 1_764_460_800_000 + random.randrange(86_400_000)
    generator = random.Random(seed)
    (tmp_path / "ms.txt").write_text("".join(f"{generator.randrange(1000)}\n" for _ in range(24)))
    low = seed - seed % 100_000
    answer = only_json(
        mimicry(
            tmp_path,
            "sieve",
            "ms.txt",
            "--family",
            "python_random",
            "--projection",
            "python_randrange",
            "--seeds",
            f"{low}..{low + 99_999}",
            "--json",
        )
    )
    assert answer["survivors"][0]["seed"] == seed
    assert answer["job"]["candidate_range"] == [low, low + 99_999]


#: php_mt_seed's README cases (php_mt_seed.c's tests), each seed confirmed by php-cli in the
#: test, searched over a slice of the 2^32 seeds around the answer (the full sweep is a
#: benchmark): (family, projection, modulus, draws, seed).
PHP_MT_SEED_CASES = {
    "A, mt_rand() of 7.1+": ("mt19937", "php_mt_rand", None, [1328851649], 1234567890),
    "A, mt_rand() of 5.2.1-7.0": ("php5_mt", "php_mt_rand", None, [1328851649], 658126103),
    "B, two outputs only 5.2.1-7.0 explains": (
        "php5_mt",
        "php_mt_rand",
        None,
        [1328851649, 1423851145],
        1234567890,
    ),
    "C, a password of mt_rand(0, 56) in 5.2.1-7.0": (
        "php5_mt",
        "php5_mt_rand_range",
        57,
        [14, 25, 8, 21, 18, 10, 53, 47, 4, 3],
        2709990964,
    ),
}


@pytest.mark.parametrize("case", PHP_MT_SEED_CASES)
def test_php_mt_seed_readme_cases(tmp_path, case):
    from tests.runtimes import run_php

    family, projection, modulus, draws, seed = PHP_MT_SEED_CASES[case]
    mode = "MT_RAND_PHP" if family == "php5_mt" else "MT_RAND_MT19937"
    call = "mt_rand()" if modulus is None else f"mt_rand(0, {modulus - 1})"
    script = (
        f"error_reporting(E_ALL & ~E_DEPRECATED); mt_srand({seed}, {mode}); "
        f'for ($i = 0; $i < {len(draws)}; $i++) echo {call}, "\\n";'
    )
    assert [int(v) for v in run_php(script).split()] == draws
    (tmp_path / "draws.txt").write_text("".join(f"{d}\n" for d in draws))
    flags = ["--modulus", str(modulus)] if modulus else []
    low = seed - seed % 1_000_000
    answer = only_json(
        mimicry(
            tmp_path,
            "sieve",
            "draws.txt",
            "--family",
            family,
            "--projection",
            projection,
            *flags,
            "--seeds",
            f"{low}..{low + 999_999}",
            "--json",
        )
    )
    assert [s["seed"] for s in answer["survivors"]] == [seed]


def test_both_php_flavours_in_one_pass_find_php_mt_seeds_case_a(tmp_path):
    """php_mt_seed's case A as it runs it: one mt_rand() value, PHP 7.1+ and 5.2.1-7.0 from
    one pass over the seeds; 1234567890 explains it under both (its odd bit agrees)."""
    from tests.runtimes import run_php

    seed, value = 1234567890, 1328851649
    for mode in ("MT_RAND_MT19937", "MT_RAND_PHP"):
        script = (
            f"error_reporting(E_ALL & ~E_DEPRECATED); mt_srand({seed}, {mode}); echo mt_rand();"
        )
        assert int(run_php(script)) == value
    (tmp_path / "draws.txt").write_text(f"{value}\n")
    low = seed - seed % 1_000_000
    named = ["--family", "mt19937", "--family", "php5_mt", "--family", "mt19937"]
    flags = ["--projection", "php_mt_rand", "--seeds", f"{low}..{low + 999_999}"]
    answer = only_json(mimicry(tmp_path, "sieve", "draws.txt", *named, *flags, "--json"))
    assert [a["job"]["family"] for a in answer["answers"]] == ["mt19937", "php5_mt"]
    for each in answer["answers"]:
        assert [s["seed"] for s in each["survivors"]] == [seed]
        assert each["stats"]["candidates_tested"] == 1_000_000
    # Each family's p-value counts its own million hypotheses; together they are two million,
    # which the best survivor's p-value across the families prices in (about twice its own,
    # 1 - exp(-2Ht) against 1 - exp(-Ht) for a p of 5e-4).
    own = answer["answers"][0]["survivors"][0]["p_value"]
    assert answer["best_p_value_across_families"] == pytest.approx(2 * own, rel=1e-3)
    assert answer["best_p_value_across_families"] > 1.99 * own
    assert "2,000,000 hypotheses in all" in answer["verdict"]
    # The terminal: a table per family, each with its own verdict, then the one across them.
    shown = mimicry(tmp_path, "sieve", "draws.txt", *named[:4], *flags)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("1234567890") == 5  # a row and a verdict per family, one across
    assert "\n\n" + " " * 10 in shown.stdout  # a blank line before the second table
    assert "mt19937 / php_mt_rand" in shown.stdout and "php5_mt / php_mt_rand" in shown.stdout
    words = " ".join(shown.stdout.split())
    across = words.index("Significant across the families searched together (mt19937, php5_mt;")
    assert across > words.index("php5_mt / php_mt_rand")  # after both families' answers


def test_families_searched_together_must_share_modulus_and_seeds(tmp_path):
    (tmp_path / "draws.txt").write_text("1\n2\n3\n")
    raw = mimicry(
        tmp_path,
        "sieve",
        "draws.txt",
        "--family",
        "mt19937",
        "--family",
        "xorshift64",
        "--projection",
        "raw",
        "--seeds",
        "0..9",
    )
    assert raw.returncode == 2 and raw.stdout == ""
    assert raw.stderr == (
        "mimicry: error: --family: families searched together must draw from the same modulus, "
        "and mt19937 has M = 4,294,967,296, xorshift64 has M = 18,446,744,073,709,551,616 under "
        "--projection raw; search them one at a time\n"
    )
    spaces = mimicry(
        tmp_path,
        "sieve",
        "draws.txt",
        "--family",
        "mt19937",
        "--family",
        "xorshift32",
        "--mode",
        "state",
    )
    assert spaces.returncode == 2 and spaces.stdout == ""
    assert spaces.stderr.startswith("mimicry: error: --")


def test_seed_from_a_csv_file_with_sessions(tmp_path):
    # Two interleaved sessions; the evening one is CPython's random.seed(SEED).randrange(1000).
    evening = seeded_history("python_random", 777, 16, projection="python_randrange")
    midday = seeded_history("python_random", 999, 16, projection="python_randrange")
    future = seeded_history("python_random", 777, 2, projection="python_randrange", offset=16)
    rows = ["date,session,draw"]
    for day, (a, b) in enumerate(zip(midday, evening, strict=True)):
        rows += [f"2024-03-{day + 1:02d},midday,{a}", f"2024-03-{day + 1:02d},evening,{b}"]
    (tmp_path / "draws.csv").write_text("\n".join(rows) + "\n")
    proc = mimicry(
        tmp_path,
        "sieve",
        "draws.csv",
        "--session",
        "evening",
        "--family",
        "python_random",
        "--projection",
        "python_randrange",
        "--seeds",
        "0..2000",
        "--predict",
        "2",
        "--backend",
        "reference",
        "--json",
    )
    result = only_json(proc)
    assert result["job"]["window"] == evening[:8]
    best = result["survivors"][0]
    assert (best["seed"], best["offset"], best["matches_after"]) == (777, 0, 8)
    assert best["next"] == future
    assert result["stats"]["significant"] is True


def test_seed_from_a_json_file_with_sessions(tmp_path):
    # java.util.Random(SEED).nextInt(1000), every other call observed (skip 1), from call 3.
    seed = 2**40 + 12_345
    draws = seeded_history("java_random", seed, 14, projection="java_nextint", offset=3, skip=1)
    future = seeded_history("java_random", seed, 2, projection="java_nextint", offset=31, skip=1)
    noise = seeded_history("java_random", 5, 14, projection="java_nextint")
    items = []
    for day, (a, b) in enumerate(zip(draws, noise, strict=True)):
        items += [
            {"date": f"2024-05-{day + 1:02d}", "session": "midday", "draw": a},
            {"date": f"2024-05-{day + 1:02d}", "session": "evening", "draw": b},
        ]
    (tmp_path / "draws.json").write_text(json.dumps(items))
    proc = mimicry(
        tmp_path,
        "sieve",
        "draws.json",
        "--session",
        "midday",
        "--family",
        "java_random",
        "--projection",
        "java_nextint",
        "--seeds",
        f"{seed - 400}..{seed + 400}",
        "--offsets",
        "0..5",
        "--skip",
        "0..2",
        "--predict",
        "2",
        "--backend",
        "reference",
        "--json",
    )
    best = only_json(proc)["survivors"][0]
    assert (best["seed"], best["offset"], best["skip"]) == (seed, 3, 1)
    assert best["next"] == future


def test_a_table_without_json(tmp_path):
    write_draws(tmp_path / "draws.txt", TXT_HISTORY)
    proc = mimicry(
        tmp_path,
        "sieve",
        "draws.txt",
        "--family",
        "mt19937",
        "--seeds",
        f"{SEED - 50}..{SEED + 50}",
        "--offsets",
        "2",
        "--predict",
        "3",
        "--backend",
        "reference",
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    assert "mt19937 / mod, M = 1000, window 0+8" in out
    for header in ("seed", "offset", "skip", "window", "before", "after", "p-value", "next"):
        assert header in out
    row = next(line for line in out.splitlines() if str(SEED) in line)
    assert "8/8" in row and "0/0" in row and "16/16" in row
    assert " ".join(map(str, TXT_FUTURE)) in row
    assert "101 candidates, 101 hypotheses" in out
    assert "Significant" in out


def test_a_table_says_when_nothing_is_significant(tmp_path):
    write_draws(tmp_path / "noise.txt", [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8])
    proc = mimicry(
        tmp_path,
        "sieve",
        "noise.txt",
        "--family",
        "lcg32",
        "--modulus",
        "10",
        "--window",
        "2",
        "--seeds",
        "0..300",
        "--backend",
        "reference",
    )
    assert proc.returncode == 0, proc.stderr
    assert "finds 3.01 survivors by chance" in proc.stdout
    assert "Nothing significant" in proc.stdout


# -- bad input ------------------------------------------------------------------------------------

FILES = {
    "ok.txt": "1\n2\n3\n4\n5\n",
    "range.txt": "1\n2\n1000\n",
    "nonint.txt": "1\n2.5\n",
    "doubles.txt": "0.5\n0.25\n0.1\n",
    "signed.txt": "-2147483648\n2147483647\n2147483648\n",
    "empty.txt": "",
    "sessions.csv": "date,session,draw\n2024-01-01,midday,1\n2024-01-01,evening,2\n",
    "unsorted.csv": "date,draw\n2024-01-02,1\n2024-01-01,2\n",
}

BAD_INPUT = {
    "value-outside-range": (
        ["range.txt", "--family", "mt19937"],
        "Draw file 'range.txt', line 3: value 1000 is outside the range [0, 1000).",
    ),
    "non-integer": (
        ["nonint.txt", "--family", "mt19937", "--json"],
        "Draw file 'nonint.txt', line 2: expected an integer draw, found '2.5'.",
    ),
    "empty-file": (
        ["empty.txt", "--family", "mt19937"],
        "Draw file 'empty.txt' contains no draws (expected one integer per line).",
    ),
    "unknown-session": (
        ["sessions.csv", "--family", "mt19937", "--session", "night"],
        "Draw file 'sessions.csv' has no session 'night'; its sessions are 'midday', 'evening'.",
    ),
    "several-sessions": (
        ["sessions.csv", "--family", "mt19937", "--json"],
        "Draw file 'sessions.csv' holds 2 sessions ('midday', 'evening'); select one with"
        " --session (session= in read_draws).",
    ),
    "unsorted-dates": (
        ["unsorted.csv", "--family", "mt19937"],
        "Draw file 'unsorted.csv', line 3: date 2024-01-01 is older than the previous date"
        " (2024-01-02 on line 2); expected dates oldest first.",
    ),
    "unknown-family": (
        ["ok.txt", "--family", "mt19938"],
        f"--family: unknown family 'mt19938'; known families: {', '.join(family_names())}",
    ),
    "seeds-syntax": (
        ["ok.txt", "--family", "mt19937", "--seeds", "5-7"],
        "--seeds expects an inclusive range LO..HI or a single number (decimal or 0x"
        " hex), got '5-7'",
    ),
    "offsets-syntax": (
        ["ok.txt", "--family", "mt19937", "--offsets", "x..3"],
        "--offsets expects an inclusive range LO..HI or a single number (decimal or 0x"
        " hex), got 'x..3'",
    ),
    "skip-syntax": (
        ["ok.txt", "--family", "mt19937", "--skip", "1..two", "--json"],
        "--skip expects an inclusive range LO..HI or a single number (decimal or 0x"
        " hex), got '1..two'",
    ),
    "skip-reversed": (
        ["ok.txt", "--family", "mt19937", "--skip", "3..1"],
        "--skip expects 0 <= LO <= HI, got '3..1'",
    ),
    "window-larger-than-history": (
        ["ok.txt", "--family", "mt19937", "--window", "9"],
        "--window-start: a window of 9 draws from index 0 needs draws 0..8, but ok.txt has 5 draws",
    ),
    "window-past-the-end": (
        ["ok.txt", "--family", "mt19937", "--window", "3", "--window-start", "3"],
        "--window-start: a window of 3 draws from index 3 needs draws 3..5, but ok.txt has 5 draws",
    ),
    "state-mode-without-state-search": (
        ["ok.txt", "--family", "mt19937", "--mode", "state"],
        "--mode: state mode needs a family whose whole state can be enumerated; mt19937 has a"
        " 19968-bit state",
    ),
    "offsets-in-state-mode": (
        ["ok.txt", "--family", "xorshift32", "--mode", "state", "--offsets", "0..3"],
        "--offsets: state mode enumerates the state at the first window draw, so offsets must"
        " be 0..0",
    ),
    "seed-range-outside-space": (
        ["ok.txt", "--family", "mt19937", "--seeds", "0..4294967296", "--json"],
        "--seeds: seed range 0..4294967296 is outside mt19937's seed space 0..4294967295",
    ),
    "state-range-outside-space": (
        ["ok.txt", "--family", "xorshift32", "--mode", "state", "--seeds", "0..100"],
        "--seeds: state range 0..100 is outside xorshift32's state space 1..4294967295",
    ),
    "min-matches-too-large": (
        ["ok.txt", "--family", "mt19937", "--window", "4", "--min-matches", "5"],
        "--min-matches: must be between 1 and the window size 4",
    ),
    "min-matches-zero": (
        ["ok.txt", "--family", "mt19937", "--min-matches", "0"],
        "--min-matches: Input should be greater than or equal to 1",
    ),
    "gpu-backend": (
        ["ok.txt", "--family", "mt19937", "--seeds", "0..10", "--backend", "gpu", "--json"],
        "--backend: the gpu backend needs CuPy: pip install 'mimicry[cuda12]' on NVIDIA,"
        " 'mimicry[rocm]' on AMD",
    ),
    "modulus-out-of-range": (
        ["ok.txt", "--family", "mt19937", "--modulus", "1"],
        "--modulus must be between 2 and 2147483648, got 1",
    ),
    "max-misses-without-variable-skip": (
        ["ok.txt", "--family", "mt19937", "--max-misses", "1"],
        "--max-misses: only applies with variable skip",
    ),
    "offsets-beyond-memory": (
        ["ok.txt", "--family", "mt19937", "--offsets", "0..99999999999999"],
        "--offsets: the window's last draw would sit at call 100,000,000,000,003; a search keeps"
        " every call up to it in memory and reaches call 16,777,216 at most (narrow --offsets or"
        " --skip, or search the state with --mode state)",
    ),
    "predict-too-many": (
        ["ok.txt", "--family", "mt19937", "--predict", "100000000"],
        "--predict: Input should be less than or equal to 100000",
    ),
    "incompatible-projection": (
        ["ok.txt", "--family", "xorshift64", "--projection", "python_randrange"],
        "--projection: projection python_randrange is defined on 32-bit words, and this family"
        " makes 64-bit words",
    ),
    "bad-hex-seeds": (
        ["ok.txt", "--family", "mt19937", "--seeds", "0x10..0xZZ"],
        "--seeds expects an inclusive range LO..HI or a single number (decimal or 0x hex), got"
        " '0x10..0xZZ'",
    ),
    "float-for-an-integer-projection": (
        ["nonint.txt", "--family", "java_random", "--projection", "java_nextint32"],
        "Draw file 'nonint.txt', line 2: expected an integer draw, found '2.5'.",
    ),
    "double-random-cannot-print": (
        ["doubles.txt", "--family", "python_random", "--projection", "python_random_float"],
        "Draw file 'doubles.txt', line 3: expected a float in [0, 1) with 53 bits (a multiple of"
        " 2**-53), got 0.1.",
    ),
    "outside-the-signed-range": (
        ["signed.txt", "--family", "java_random", "--projection", "java_nextint32", "--json"],
        "Draw file 'signed.txt', line 3: value 2147483648 is outside the range [-2147483648,"
        " 2147483648).",
    ),
    "modulus-raw-fixes": (
        ["ok.txt", "--family", "mt19937", "--projection", "raw", "--modulus", "1000"],
        "--projection: projection raw makes draws in [0, 4294967296), so the modulus must be"
        " 4294967296, got 1000",
    ),
    "own-form-projection-on-other-words": (
        ["doubles.txt", "--family", "mt19937", "--projection", "v8_math_random"],
        "--projection: projection v8_math_random is defined on 64-bit words, and this family"
        " makes 32-bit words",
    ),
    "modulus-a-projection-fixes": (
        ["ok.txt", "--family", "mt19937", "--projection", "php_mt_rand", "--modulus", "1000"],
        "--projection: projection php_mt_rand makes draws in [0, 2147483648), so the modulus must"
        " be 2147483648, got 1000",
    ),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Every bad-input command, each in its own folder holding the files; run a few at a time
    (each is a separate process start, most of its time spent importing)."""
    folders = {}
    for kind in BAD_INPUT:
        folder = tmp_path_factory.mktemp(kind)
        for name, text in FILES.items():
            (folder / name).write_text(text)
        folders[kind] = folder
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = {
            kind: pool.submit(mimicry, folders[kind], "sieve", *args)
            for kind, (args, _message) in BAD_INPUT.items()
        }
        return {kind: (folders[kind], run.result()) for kind, run in runs.items()}


@pytest.mark.parametrize("kind", BAD_INPUT)
def test_bad_input_is_one_sentence_and_exit_code_2(bad_runs, kind):
    folder, proc = bad_runs[kind]
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"mimicry: error: {BAD_INPUT[kind][1]}\n"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # nothing written


# -- `mimicry run`: the same rules, refused before anything is written -----------------------------

RUN_BAD_INPUT = {
    "too-few-permutations-to-pass-the-gate": (
        ["--permutations", "9"],
        "--permutations: Input should be greater than or equal to 19",
    ),
    "pool-size-not-below-modulus": (
        ["--pool-size", "1000"],
        "--pool-size: must be below the modulus 1000 (a pool of every value always hits), got 1000",
    ),
    "chunk-size-zero": (
        ["--chunk-size", "0"],
        "--chunk-size: Input should be greater than or equal to 1",
    ),
    "window-start-negative": (
        ["--window-start", "-1"],
        "--window-start: Input should be greater than or equal to 0",
    ),
    "state-mode-without-state-search": (
        ["--mode", "state"],
        "--mode: state mode needs a family whose whole state can be enumerated; mt19937 has a"
        " 19968-bit state",
    ),
    "offsets-in-state-mode": (
        ["--family", "xorshift32", "--mode", "state", "--offsets", "0..3"],
        "--offsets: state mode enumerates the state at the first window draw, so offsets must"
        " be 0..0",
    ),
    "seed-range-outside-space": (
        ["--seeds", "0..4294967296"],
        "--seeds: seed range 0..4294967296 is outside mt19937's seed space 0..4294967295",
    ),
    "empty-stream-name": (
        ["--stream", ""],
        "--stream: a stream name must not be empty",
    ),
    "control-character-in-stream-name": (
        ["--stream", "pick\x1b[2J3"],
        "--stream: a stream name must not hold control characters; character 5 is U+001B",
    ),
    "projection-of-a-program-form": (
        ["--projection", "java_nextint32"],
        "--projection: `mimicry run` ranks draws in [0, M) with M up to 2147483648, and"
        " projection java_nextint32 makes draws of its own form; search them with"
        " `mimicry sieve`",
    ),
    "unknown-backend": (
        ["--backend", "cuda"],
        "--backend: Input should be 'reference', 'cpu' or 'gpu', got 'cuda'",
    ),
    "unknown-family": (
        ["--family", "mt19973"],
        f"--family: unknown family 'mt19973'; known families: {', '.join(family_names())}",
    ),
    "unknown-model-type": (
        ["--model-type", "forest"],
        "--model-type: Input should be 'mlp', 'xgboost', 'lightgbm' or 'catboost', got 'forest'",
    ),
    "model-param-without-its-type": (
        ["--model-param", "learning_rate=1"],
        "--model-param: expected TYPE.NAME=VALUE (mlp.learning_rate=0.01), got 'learning_rate=1'",
    ),
    "model-param-the-type-does-not-search": (
        ["--model-param", "mlp.lr=1"],
        "--model-param: mlp has no hyperparameter 'lr'; it searches hidden, layers, "
        "learning_rate, weight_decay, epochs",
    ),
    "tensorboard-folder-is-a-file": (
        ["--tensorboard", "/etc/hostname"],
        "--tensorboard: expected a folder for the event files, got '/etc/hostname'",
    ),
}


@pytest.fixture(scope="module")
def bad_run_commands(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    folders = {}
    for kind in RUN_BAD_INPUT:
        folder = tmp_path_factory.mktemp(f"run-{kind}")
        write_draws(folder / "draws.txt", seeded_history("mt19937", 5, 80))
        folders[kind] = folder
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = {
            kind: pool.submit(
                mimicry, folders[kind], "run", "draws.txt", "--family", "mt19937", *args
            )
            for kind, (args, _message) in RUN_BAD_INPUT.items()
        }
        return {kind: (folders[kind], run.result()) for kind, run in runs.items()}


@pytest.mark.parametrize("kind", RUN_BAD_INPUT)
def test_run_refuses_bad_flags_in_one_sentence_before_writing(bad_run_commands, kind):
    folder, proc = bad_run_commands[kind]
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == f"mimicry: error: {RUN_BAD_INPUT[kind][1]}\n"
    assert not (folder / "home").exists()  # nothing written: no store, no stream


def test_top_zero_shows_no_survivor_and_still_says_significant(tmp_path):
    write_draws(tmp_path / "draws.txt", TXT_HISTORY)
    seeds = f"{SEED - 10}..{SEED + 10}"
    proc = mimicry(
        tmp_path,
        "sieve",
        "draws.txt",
        "--family",
        "mt19937",
        "--seeds",
        seeds,
        "--offsets",
        "0..3",
        "--top",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert "a survivor (none shown)" in proc.stdout and "Nothing significant" not in proc.stdout
    assert str(SEED) not in proc.stdout


# -- settings that cannot be used: one sentence naming the variable, before any work ------------

BAD_SETTINGS = {
    "MIMICRY_CHUNK_SIZE": ("0", "Input should be greater than or equal to 1 (got '0')"),
    "MIMICRY_POOL_SIZE": (
        "abc",
        "Input should be a valid integer, unable to parse string as an integer (got 'abc')",
    ),
    "MIMICRY_DASK_WORKERS": ("0", "Input should be greater than or equal to 1 (got '0')"),
    # Refused by every command, `status` included, not only by those that sieve.
    "MIMICRY_BACKEND": ("bogus", "expected one of reference, cpu, gpu (got 'bogus')"),
    "MIMICRY_GPU_TARGET": ("tpu", "Input should be 'device' or 'host' (got 'tpu')"),
    "MIMICRY_NATIVE_KERNELS": (
        "sometimes",
        "Input should be a valid boolean, unable to interpret input (got 'sometimes')",
    ),
    "MIMICRY_DATABASE_URL": (
        "not a url",
        "expected a database URL such as postgresql+psycopg://user@host:5432/db (got 'not a url')",
    ),
    # A training-health threshold: a nested setting, named by its whole path.
    "MIMICRY_HEALTH__LEARN_MARGIN": ("2", "Input should be less than 1 (got '2')"),
}


@pytest.mark.parametrize("variable", BAD_SETTINGS)
def test_a_bad_setting_is_one_sentence_naming_the_variable(tmp_path, variable):
    value, message = BAD_SETTINGS[variable]
    env = {name: text for name, text in os.environ.items() if not name.startswith("MIMICRY_")}
    env |= {"MIMICRY_HOME": str(tmp_path / "home"), variable: value}
    proc = subprocess.run(
        [*MIMICRY, "status"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr == f"mimicry: error: {variable}: {message}\n"
    assert not (tmp_path / "home").exists()


def test_the_dask_certificates_and_a_tls_scheduler_go_together(tmp_path):
    env = {name: text for name, text in os.environ.items() if not name.startswith("MIMICRY_")}
    env["MIMICRY_HOME"] = str(tmp_path / "home")
    cases = [
        (
            {"MIMICRY_DASK_ADDRESS": "tls://10.0.0.5:8786"},
            "MIMICRY_DASK_ADDRESS is a tls:// scheduler; set MIMICRY_DASK_TLS_DIR to the folder "
            "of its certificates",
        ),
        (
            {"MIMICRY_DASK_TLS_DIR": str(tmp_path)},
            f"MIMICRY_DASK_TLS_DIR: {tmp_path} has no ca.pem, client.pem, client-key.pem; "
            f"expected the folder of deployments/make-dask-certs.sh (got '{tmp_path}')",
        ),
    ]
    for variables, message in cases:
        proc = subprocess.run(
            [*MIMICRY, "status"], env=env | variables, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2
        assert proc.stderr == f"mimicry: error: {message}\n"
    assert not (tmp_path / "home").exists()


def test_a_store_url_without_its_driver_or_a_home_that_is_a_file(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("MIMICRY_")}
    (tmp_path / "file").write_text("not a folder")
    cases = {
        "MIMICRY_DATABASE_URL": (
            "mysql://user@127.0.0.1/db",
            "MIMICRY_DATABASE_URL: cannot use a 'mysql' database here (No module named "
            "'MySQLdb'); the store runs on SQLite or PostgreSQL "
            "(postgresql+psycopg://user@host:5432/db)",
        ),
        "MIMICRY_HOME": (
            str(tmp_path / "file"),
            f"MIMICRY_HOME: {tmp_path / 'file'} is a file; expected a folder for the store "
            f"(got '{tmp_path / 'file'}')",
        ),
        "MIMICRY_TENSORBOARD_DIR": (
            str(tmp_path / "file"),
            f"MIMICRY_TENSORBOARD_DIR: {tmp_path / 'file'} is a file; expected a folder for "
            f"the event files (got '{tmp_path / 'file'}')",
        ),
    }
    for variable, (value, message) in cases.items():
        proc = subprocess.run(
            [*MIMICRY, "status"],
            env={**env, "MIMICRY_HOME": str(tmp_path / "home"), variable: value},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr == f"mimicry: error: {message}\n"


# -- `mimicry simulate`: streamed, written whole or not at all --------------------------------


def test_simulate_refuses_an_output_it_cannot_write(tmp_path):
    cases = {
        "": "--out: expected a file path, got an empty one",
        str(tmp_path): f"--out: {tmp_path} is a folder; expected a file path",
        str(tmp_path / "missing" / "d.txt"): f"--out: folder {tmp_path / 'missing'} does not exist",
        "/dev/full": "--out: cannot write /dev/full: No space left on device",
    }
    for out, message in cases.items():
        proc = mimicry(
            tmp_path, "simulate", "--family", "mt19937", "--seed", "1", "--count", "5", "--out", out
        )
        assert proc.returncode == 2, (out, proc.stderr)
        assert proc.stderr == f"mimicry: error: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temporary file left behind


def test_simulate_writes_its_file_with_the_users_umask(tmp_path):
    """A draw file copied into a container is read there by another user: it gets the mode a
    plain write would (0600 from the temporary file made it unreadable); a file it replaces
    keeps its own mode."""
    import stat

    def simulate(out: Path, umask: int) -> int:
        proc = subprocess.run(
            [
                "sh",
                "-c",
                f'umask {umask:03o} && exec "$@"',
                "sh",
                *MIMICRY,
                "simulate",
                "--family",
                "mt19937",
                "--seed",
                "1",
                "--count",
                "5",
                "--out",
                str(out),
            ],
            env={**os.environ, "MIMICRY_HOME": str(tmp_path / "home")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return stat.S_IMODE(out.stat().st_mode)

    assert simulate(tmp_path / "a.txt", 0o022) == 0o644
    assert simulate(tmp_path / "b.txt", 0o027) == 0o640
    (tmp_path / "b.txt").chmod(0o604)
    assert simulate(tmp_path / "b.txt", 0o077) == 0o604


def test_simulate_refuses_calls_no_search_reaches(tmp_path):
    for flag in ("--discard", "--skip"):
        proc = mimicry(
            tmp_path, "simulate", "--family", "mt19937", "--seed", "1", flag, "100000000000"
        )
        assert proc.returncode == 2
        assert proc.stderr == (
            f"mimicry: error: {flag}: at most 16,777,216 calls (2^24, the farthest call a search "
            "reaches), got 100,000,000,000\n"
        )
    within = mimicry(
        tmp_path, "simulate", "--family", "mt19937", "--seed", "1", "--count", "2", "--discard", "9"
    )
    assert within.returncode == 0 and len(within.stdout.split()) == 2


def test_simulate_streams_its_draws_in_the_same_memory_for_any_count(tmp_path):
    # Each measurement in a fresh parent, whose largest child is the one simulate.
    measure = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )

    def peak_rss(count: int) -> int:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                measure,
                *MIMICRY,
                "simulate",
                "--family",
                "xorshift32",
                "--seed",
                "9",
                "--count",
                str(count),
                "--out",
                str(tmp_path / f"{count}.txt"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout.split()[-1])  # KiB

    small = peak_rss(20_000)
    large = peak_rss(2_000_000)  # a list of the draws and their text would take ~150 MiB more
    assert large - small < 30 * 1024, (small, large)
    assert (tmp_path / "2000000.txt").read_text().count("\n") == 2_000_000
    assert (tmp_path / "20000.txt").read_text().splitlines()[:3] == [
        str(v) for v in seeded_history("xorshift32", 9, 3)
    ]


# -- no silent giants ---------------------------------------------------------------------------


def test_a_search_of_2_to_the_64_seeds_does_not_start_without_seeds_or_yes(tmp_path):
    (tmp_path / "x.txt").write_text(
        "".join(f"{v}\n" for v in seeded_history("xorshift128plus", 5, 12))
    )
    proc = mimicry(tmp_path, "sieve", "x.txt", "--family", "xorshift128plus")
    assert proc.returncode == 2 and proc.stdout == ""
    sentence = proc.stderr.strip()
    assert sentence.startswith(
        "mimicry: error: --seeds: sweeping xorshift128plus's 18,446,744,073,709,551,616 "
        "candidates 0x0..0xffffffffffffffff would take about "
    )
    assert " years at " in sentence and "measured here" in sentence
    assert sentence.endswith(
        "past MIMICRY_CONFIRM_SECONDS = 3600; give --seeds LO..HI, or --yes to start it anyway"
    )


def test_the_confirmation_threshold_is_a_setting_and_named_seeds_go_ahead(tmp_path):
    (tmp_path / "m.txt").write_text("".join(f"{v}\n" for v in seeded_history("mt19937", 77, 12)))
    env_proc = subprocess.run(
        [*MIMICRY, "sieve", "m.txt", "--family", "mt19937"],
        cwd=tmp_path,
        env={**os.environ, "MIMICRY_HOME": str(tmp_path / "home"), "MIMICRY_CONFIRM_SECONDS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert env_proc.returncode == 2
    assert "past MIMICRY_CONFIRM_SECONDS = 1; give --seeds" in env_proc.stderr
    # Seeds given by name (in hex, as php_mt_seed prints them): the estimate, then the search.
    proc = mimicry(
        tmp_path, "sieve", "m.txt", "--family", "mt19937", "--seeds", "0x0..0x7fffff", "--hex"
    )
    assert proc.returncode == 0, proc.stderr
    assert "sieve: 8,388,608 candidates, about " in proc.stderr
    assert " 0x4d " in proc.stdout  # seed 77, in hex


def test_a_narrow_table_becomes_a_list_before_it_cuts_a_seed_or_next():
    import io

    from rich.console import Console

    from mimicry_cli.common import SURVIVOR_LAYOUT, print_table

    row = {
        "family": "python_random",
        "seed or state": "1700000000123",
        "offset": "0",
        "p-value": "1e-57",
        "next": "228 620 296 456 280 480 60 301",
    }
    # Wide: a table, the row on one line; 60 and 30 columns: a list, every value on one line.
    for width, table in ((200, True), (60, False), (30, False)):
        out = io.StringIO()
        print_table("t", [row], Console(file=out, width=width), SURVIVOR_LAYOUT)
        lines = out.getvalue().splitlines()
        assert any("│" in line for line in lines) is table, lines
        for value in row.values():
            assert any(value in line for line in lines), (width, value, lines)
        assert max(map(len, lines)) <= width, lines


def test_each_command_is_registered_by_the_module_that_loads_it_alone():
    from mimicry_cli import COMMAND_MODULES, registered

    app = registered()
    where = {
        command.callback.__name__: command.callback.__module__
        for command in app.registered_commands
    }
    where |= {
        group.name: group.typer_instance.registered_commands[0].callback.__module__
        for group in app.registered_groups
    }
    assert where == {name: f"mimicry_cli.{module}" for name, module in COMMAND_MODULES.items()}
    # And a command started alone loads its own module only.
    loads = (
        "import sys, json, mimicry_cli\n"
        "sys.argv = ['mimicry', 'status', '--help']\n"
        "try:\n    mimicry_cli.main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    proc = subprocess.run([sys.executable, "-c", loads], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))
    assert {"mimicry_cli.common", "mimicry_cli.store"} <= loaded
    assert not loaded & {"mimicry_cli.run", "mimicry_cli.watch", "llm", "prefect", "scipy.special"}


def test_families_lists_every_projection_with_its_description(tmp_path):
    from gpu_kernels.projections import PROJECTIONS

    listed = only_json(mimicry(tmp_path, "families", "--json"))["projections"]
    assert [p["name"] for p in listed] == sorted(PROJECTIONS)
    by_name = {p["name"]: p for p in listed}
    for name in ("raw", "java_nextint32", "java_nextlong", "python_random_float", "v8_math_random"):
        assert by_name[name]["description"] == PROJECTIONS[name].description != ""
    assert by_name["java_nextlong"]["modulus"] == 2**64
    assert by_name["raw"]["modulus"] is None  # 2^word_bits of the family
    table = mimicry(tmp_path, "families").stdout
    assert "java_nextlong" in table and "nextLong()" in table
