// The first-draw prefilters of python_random, glibc_rand and java_random seeds and xorshift32
// states on the GPU, one thread per candidate: the cpu backend's numba prefilters
// (gpu_kernels/backends/cpu_prefilters.py) thread by thread, under projection `mod` with no
// window misses. Each computes only the words the first window draw can sit on (calls word_lo
// .. word_hi: with `mod` call o is word o) and keeps a candidate when one of them is the draw
// mod M; the sieve kernel then checks the few kept in full. What each saves over the sieve:
// CPython's seed skips the twist of all 624 words (output w needs state words w, w + 1 and
// w + 397 of init_by_array); glibc's output w is a fixed linear combination of the 31 seeded
// words (its coefficients come from the host: 31 multiply-adds instead of 344 + w additions);
// Java and xorshift32 stop at word_hi without the sieve's ring and projection.
#pragma once
#include "prelude.cuh"

// Which family, in the order of gpu_kernels.backends.prefilter_tests.FIRST_WORD_FAMILIES.
enum FirstWordFamily {
    FIRST_WORD_PYTHON_RANDOM,
    FIRST_WORD_GLIBC_RAND,
    FIRST_WORD_JAVA_RANDOM,
    FIRST_WORD_XORSHIFT32
};

// The test, as u32 words (the host packs it: prefilter_tests.first_word_test).
enum FirstWordTestWord {
    FW_WORD_LO,
    FW_WORD_HI,
    FW_DRAW,
    FW_INVERSE,
    FW_SHIFT,
    FW_LIMIT,
    FW_TEST_WORDS
};

// word % M == draw without a division (Hacker's Delight 10-17), as on the cpu.
DEVICE bool first_word_matches(const u32 *test, u32 word)
{
    u32 draw = test[FW_DRAW], shift = test[FW_SHIFT];
    u32 product = (word - draw) * test[FW_INVERSE];
    u32 rotated = (product >> shift) | (product << ((32 - shift) & 31));
    return word >= draw && rotated <= test[FW_LIMIT];
}

DEVICE u32 first_word_temper(u32 y)
{
    y ^= y >> 11;
    y ^= (y << 7) & 0x9D2C5680u;
    y ^= (y << 15) & 0xEFC60000u;
    return y ^ (y >> 18);
}

// CPython's random.seed(s) for s < 2^32: init_by_array([s]) over `table` (init_genrand(19650218),
// from the host), then output w of the fresh state from words w, w + 1 and w + 397.
DEVICE bool python_random_keeps(u32 key, const u32 *test, const u32 *table)
{
    u32 mt[624];
    for (int n = 0; n < 624; n++)
        mt[n] = table[n];
    int i = 1;
    for (int k = 624; k; k--) {
        u32 p = mt[i - 1];
        mt[i] = (mt[i] ^ ((p ^ (p >> 30)) * 1664525u)) + key;
        if (++i >= 624) {
            mt[0] = mt[623];
            i = 1;
        }
    }
    for (int k = 623; k; k--) {
        u32 p = mt[i - 1];
        mt[i] = (mt[i] ^ ((p ^ (p >> 30)) * 1566083941u)) - (u32)i;
        if (++i >= 624) {
            mt[0] = mt[623];
            i = 1;
        }
    }
    mt[0] = 0x80000000u;
    for (int w = (int)test[FW_WORD_LO]; w <= (int)test[FW_WORD_HI]; w++) {
        u32 y = (mt[w] & 0x80000000u) | (mt[w + 1] & 0x7FFFFFFFu);
        u32 value = mt[w + 397] ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908B0DFu);
        if (first_word_matches(test, first_word_temper(value)))
            return true;
    }
    return false;
}

// glibc's srand(seed) (TYPE_3): r[0..30] by the Schrage step, then output w as
// (sum_j table[w][j] * r[j] mod 2^32) >> 1.
DEVICE bool glibc_rand_keeps(u32 seed, const u32 *test, const u32 *table)
{
    u32 r[31];
    r[0] = seed ? seed : 1u;
    for (int i = 1; i < 31; i++) {
        // Signed 32-bit arithmetic, C's division truncating towards zero, as glibc.
        i64 word = (i64)(i32)r[i - 1];
        i64 hi = word / 127773, lo = word % 127773;
        word = 16807 * lo - 2836 * hi;
        if (word < 0)
            word += 2147483647;
        r[i] = (u32)word;
    }
    for (int w = (int)test[FW_WORD_LO]; w <= (int)test[FW_WORD_HI]; w++) {
        u32 total = 0;
        for (int j = 0; j < 31; j++)
            total += table[w * 31 + j] * r[j];
        if (first_word_matches(test, total >> 1))
            return true;
    }
    return false;
}

DEVICE bool java_random_keeps(u64 seed, const u32 *test)
{
    const u64 mask = (1ULL << 48) - 1, multiplier = 0x5DEECE66DULL;
    u64 state = (seed ^ multiplier) & mask;
    for (int w = 0; w <= (int)test[FW_WORD_HI]; w++) {
        state = (state * multiplier + 0xBULL) & mask;
        if (w >= (int)test[FW_WORD_LO] && first_word_matches(test, (u32)(state >> 16)))
            return true;
    }
    return false;
}

DEVICE bool xorshift32_keeps(u32 x, const u32 *test)
{
    for (int w = 0; w <= (int)test[FW_WORD_HI]; w++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if (w >= (int)test[FW_WORD_LO] && first_word_matches(test, x))
            return true;
    }
    return false;
}

extern "C" __global__ void first_word_prefilter(int family, u64 lo, u64 count, const u32 *test,
                                                const u32 *table, u64 *kept,
                                                unsigned int *kept_count, unsigned int capacity,
                                                unsigned int *overflow)
{
    const u64 threads = (u64)blockDim.x * gridDim.x;
    for (u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x; j < count; j += threads) {
        const u64 candidate = lo + j;
        bool keep;
        switch (family) {
        case FIRST_WORD_PYTHON_RANDOM:
            keep = python_random_keeps((u32)candidate, test, table);
            break;
        case FIRST_WORD_GLIBC_RAND:
            keep = glibc_rand_keeps((u32)candidate, test, table);
            break;
        case FIRST_WORD_JAVA_RANDOM:
            keep = java_random_keeps(candidate, test);
            break;
        default:
            keep = xorshift32_keeps((u32)candidate, test);
            break;
        }
        if (keep) {
            unsigned int n = atomicAdd(kept_count, 1u);
            if (n < capacity)
                kept[n] = candidate;
            else
                atomicOr(overflow, 1u);
        }
    }
}
