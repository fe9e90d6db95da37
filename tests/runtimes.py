"""Run the real runtimes that define the generators: g++, the JDK, PHP, Node, glibc.

Each program is written to a private temporary directory and compiled once per test session
(cached by the hash of its source), then run with its input batched into one process. A missing
runtime FAILS the test with what to install: these checks are the ground truth of the families
and CI must run them.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest

_INSTALL = {
    "g++": "install a C++ compiler (Debian: apt-get install -y g++)",
    "javac": "install a JDK (Debian: apt-get install -y default-jdk-headless)",
    "java": "install a JDK (Debian: apt-get install -y default-jdk-headless)",
    "php": "install PHP's command line (Debian: apt-get install -y php-cli)",
    "node": "install Node.js (Debian: apt-get install -y nodejs)",
}

_WORKDIR: Path | None = None


def _workdir() -> Path:
    global _WORKDIR
    if _WORKDIR is None:
        _WORKDIR = Path(tempfile.mkdtemp(prefix="mimicry-runtimes-"))
        atexit.register(shutil.rmtree, _WORKDIR, ignore_errors=True)
    return _WORKDIR


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"runtime `{name}` not found on PATH: {_INSTALL[name]}", pytrace=False)
    return path


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _run(cmd: list[str], stdin: str, what: str) -> str:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(
            f"{what} failed with exit status {proc.returncode}:\n{proc.stderr.strip()}",
            pytrace=False,
        )
    return proc.stdout


@cache
def _compile_cpp(source: str) -> Path:
    directory = _workdir() / f"cpp-{_digest(source)}"
    directory.mkdir()
    (directory / "main.cpp").write_text(source)
    exe = directory / "main"
    _run(
        [_tool("g++"), "-O2", "-std=c++17", "-o", str(exe), str(directory / "main.cpp")], "", "g++"
    )
    return exe


def run_cpp(source: str, stdin: str = "") -> str:
    """Compile ``source`` with g++ (once per session) and run it; its stdout."""
    return _run([str(_compile_cpp(source))], stdin, "the C++ program")


@cache
def _compile_java(class_name: str, source: str) -> Path:
    directory = _workdir() / f"java-{_digest(class_name, source)}"
    directory.mkdir()
    path = directory / f"{class_name}.java"
    path.write_text(source)
    _tool("java")
    _run([_tool("javac"), "-d", str(directory), str(path)], "", "javac")
    return directory


def run_java(class_name: str, source: str, args: Sequence[object] = (), stdin: str = "") -> str:
    """Compile the Java class ``class_name`` from ``source`` (once per session), run it with
    ``args``; its stdout."""
    directory = _compile_java(class_name, source)
    cmd = [_tool("java"), "-Xshare:auto", "-cp", str(directory), class_name, *map(str, args)]
    return _run(cmd, stdin, "the Java program")


def run_php(code: str, stdin: str = "") -> str:
    """Run PHP ``code`` (a whole script, ``<?php`` included or not) with php-cli; its stdout."""
    if not code.lstrip().startswith("<?php"):
        code = "<?php\n" + code
    path = _workdir() / f"php-{_digest(code)}.php"
    if not path.exists():
        path.write_text(code)
    return _run([_tool("php"), "-n", str(path)], stdin, "the PHP script")


def run_node(script: str, *flags: str) -> str:
    """Run JavaScript ``script`` with node (``flags`` before it, e.g. ``--random-seed=5``)."""
    return _run([_tool("node"), *flags, "-e", script], "", "the Node script")


class Glibc:
    """glibc's ``srand``/``rand`` and ``initstate``/``setstate``/``random`` through ctypes."""

    def __init__(self, lib: ctypes.CDLL):
        self.lib = lib
        lib.srand.argtypes = [ctypes.c_uint]
        lib.srand.restype = None
        lib.rand.argtypes = []
        lib.rand.restype = ctypes.c_int
        lib.random.argtypes = []
        lib.random.restype = ctypes.c_long
        lib.initstate.argtypes = [ctypes.c_uint, ctypes.c_char_p, ctypes.c_size_t]
        lib.initstate.restype = ctypes.c_void_p
        lib.setstate.argtypes = [ctypes.c_void_p]
        lib.setstate.restype = ctypes.c_void_p

    def rand_words(self, seed: int, count: int) -> list[int]:
        """``srand(seed)`` then ``count`` calls of ``rand()`` (the default TYPE_3 generator)."""
        self.lib.srand(seed)
        rand = self.lib.rand
        return [rand() for _ in range(count)]

    def type0_words(self, seed: int, count: int) -> list[int]:
        """``initstate(seed, buf, 8)`` (TYPE_0) then ``count`` calls of ``random()``; the
        process-wide generator is put back as it was afterwards."""
        buf = ctypes.create_string_buffer(8)
        previous = self.lib.initstate(seed, buf, 8)
        try:
            random = self.lib.random
            return [random() for _ in range(count)]
        finally:
            self.lib.setstate(previous)


@cache
def glibc() -> Glibc:
    """A ctypes handle on the running process's glibc."""
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        lib = ctypes.CDLL(name)
        lib.gnu_get_libc_version.restype = ctypes.c_char_p
        lib.gnu_get_libc_version()
    except (OSError, AttributeError) as exc:
        pytest.fail(
            f"glibc is not loadable through ctypes ({exc}): run on a glibc Linux", pytrace=False
        )
    return Glibc(lib)


# ------------------------------------------------------------------------------------------------
# Programs shared by the test modules (one compile each per session). Each reads requests, one
# per line, from stdin and prints one line of space-separated results per request.

#: ``engine seed modulus count``: ``count`` outputs of ``std::<engine> g(seed)``, each ``% modulus``
#: unless modulus is 0. Engines: mt19937, minstd_rand, minstd_rand0.
CPP_ENGINES = r"""
#include <iostream>
#include <random>
#include <string>

template <class G>
static void emit(G g, unsigned long long modulus, long n) {
    for (long i = 0; i < n; ++i) {
        unsigned long long w = g();
        if (modulus) w %= modulus;
        std::cout << w << (i + 1 < n ? ' ' : '\n');
    }
}

int main() {
    std::ios::sync_with_stdio(false);
    std::string engine;
    unsigned long long seed, modulus;
    long n;
    while (std::cin >> engine >> seed >> modulus >> n) {
        if (engine == "mt19937") emit(std::mt19937(seed), modulus, n);
        else if (engine == "minstd_rand") emit(std::minstd_rand(seed), modulus, n);
        else if (engine == "minstd_rand0") emit(std::minstd_rand0(seed), modulus, n);
        else { std::cerr << "unknown engine " << engine << "\n"; return 2; }
    }
    return 0;
}
"""

#: ``seed bound count`` (seed a Java long): ``new Random(seed)``, then ``count`` calls of
#: ``nextInt()`` (bound 0), ``nextLong()`` (bound -1) or ``nextInt(bound)``.
JAVA_RANDOM_CLASS = "RandomDump"
JAVA_RANDOM = r"""
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.Random;

public class RandomDump {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split(" ");
            if (f.length < 3) continue;
            long seed = Long.parseLong(f[0]);
            int bound = Integer.parseInt(f[1]);
            int n = Integer.parseInt(f[2]);
            Random r = new Random(seed);
            for (int i = 0; i < n; i++) {
                if (bound == 0) out.append(r.nextInt());
                else if (bound == -1) out.append(r.nextLong());
                else out.append(r.nextInt(bound));
                out.append(i + 1 < n ? ' ' : '\n');
            }
        }
        System.out.print(out);
    }
}
"""

#: ``seed max count [php]``: ``mt_srand(seed)`` (``php``: with ``MT_RAND_PHP``, PHP 5.2.1-7.0's
#: twist and range scaling), then ``count`` calls of ``mt_rand()`` (max -1) or ``mt_rand(0, max)``.
PHP_MT_RAND = r"""<?php
error_reporting(E_ALL & ~E_DEPRECATED);  // MT_RAND_PHP is deprecated from PHP 8.3
while (($line = fgets(STDIN)) !== false) {
    $f = explode(' ', trim($line));
    if (count($f) < 3) continue;
    mt_srand((int)$f[0], count($f) > 3 && $f[3] === 'php' ? MT_RAND_PHP : MT_RAND_MT19937);
    $max = (int)$f[1];
    $n = (int)$f[2];
    $out = [];
    for ($i = 0; $i < $n; $i++) $out[] = $max < 0 ? mt_rand() : mt_rand(0, $max);
    echo implode(' ', $out), "\n";
}
"""


def batch(run, requests: list[tuple]) -> list[list[int]]:
    """Send ``requests`` (one tuple of fields each) to a program through ``run(stdin)`` and
    parse its answer: one list of ints per request."""
    stdin = "".join(" ".join(map(str, request)) + "\n" for request in requests)
    lines = run(stdin).splitlines()
    if len(lines) != len(requests):
        pytest.fail(f"expected {len(requests)} lines of output, got {len(lines)}", pytrace=False)
    return [[int(field) for field in line.split()] for line in lines]


def cpp_engines(requests: list[tuple]) -> list[list[int]]:
    """``(engine, seed, modulus, count)`` requests to :data:`CPP_ENGINES`."""
    return batch(lambda stdin: run_cpp(CPP_ENGINES, stdin), requests)


def java_random(requests: list[tuple]) -> list[list[int]]:
    """``(seed, bound, count)`` requests to :data:`JAVA_RANDOM`."""
    return batch(lambda stdin: run_java(JAVA_RANDOM_CLASS, JAVA_RANDOM, stdin=stdin), requests)


def php_mt_rand(requests: list[tuple]) -> list[list[int]]:
    """``(seed, max, count)`` or ``(seed, max, count, "php")`` requests to :data:`PHP_MT_RAND`."""
    return batch(lambda stdin: run_php(PHP_MT_RAND, stdin), requests)
