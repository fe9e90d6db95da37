// glibc srand/rand (random_r.c): TYPE_3 additive feedback (glibc_rand) and TYPE_0 LCG (lcg32).
// Twin of gpu_kernels/families/glibc.py: glibc_rand's state[0:31] is a circular buffer of the
// window, state[31] the index of the oldest value.
#pragma once
#include "../prelude.cuh"

#define GLIBC_DEG 31
#define GLIBC_SEP 3
#define GLIBC_DISCARDS (10 * GLIBC_DEG)
#define GLIBC_MASK32 0xFFFFFFFFULL
#define GLIBC_MASK31 0x7FFFFFFFULL

#define glibc_rand_STATE_WORDS 32

DEVICE u64 glibc_rand_next(u64 *state)
{
    u64 p = state[GLIBC_DEG];
    u64 q = p + (GLIBC_DEG - GLIBC_SEP);
    if (q >= GLIBC_DEG)
        q -= GLIBC_DEG;
    u64 next = (state[p] + state[q]) & GLIBC_MASK32;
    state[p] = next;
    p += 1;
    if (p == GLIBC_DEG)
        p = 0;
    state[GLIBC_DEG] = p;
    return next >> 1;
}

DEVICE void glibc_rand_seed(u64 seed, u64 *state)
{
    u64 s = seed & GLIBC_MASK32;
    if (s == 0)
        s = 1;
    // r[0..30] go to r[3..33]'s slots: slot (i - 3) mod 31.
    state[GLIBC_DEG - GLIBC_SEP] = s;
    i64 word = (i64)s;
    if (word >= 0x80000000LL)
        word -= 1LL << 32;
    for (int i = 1; i < GLIBC_DEG; i++) {
        // Schrage in C's signed arithmetic (division truncating toward zero).
        bool neg = word < 0;
        i64 a = neg ? -word : word;
        i64 hi = a / 127773LL;
        i64 lo = a - hi * 127773LL;
        if (neg) {
            hi = -hi;
            lo = -lo;
        }
        word = 16807LL * lo - 2836LL * hi;
        if (word < 0)
            word += 2147483647LL;
        state[(i + GLIBC_DEG - GLIBC_SEP) % GLIBC_DEG] = (u64)word & GLIBC_MASK32;
    }
    state[GLIBC_DEG] = 0;
    for (int n = 0; n < GLIBC_DISCARDS; n++)
        glibc_rand_next(state);
}

#define lcg32_STATE_WORDS 1

DEVICE u64 lcg32_next(u64 *state)
{
    u64 x = (state[0] * 1103515245ULL + 12345ULL) & GLIBC_MASK31;
    state[0] = x;
    return x;
}

DEVICE void lcg32_seed(u64 seed, u64 *state)
{
    u64 s = seed & GLIBC_MASK32;
    if (s == 0)
        s = 1;
    state[0] = s & GLIBC_MASK31;
}

DEVICE void lcg32_set_state(u64 value, u64 *state) { state[0] = value & GLIBC_MASK31; }
