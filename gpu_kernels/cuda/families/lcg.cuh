// Linear congruential generators: java.util.Random, C++ minstd, MSVC rand().
// Twin of gpu_kernels/families/lcg.py.
#pragma once
#include "../prelude.cuh"

#define JAVA_A 0x5DEECE66DULL
#define JAVA_C 0xBULL
#define JAVA_MASK48 0xFFFFFFFFFFFFULL

DEVICE u64 java_next(u64 *state)
{
    u64 x = (state[0] * JAVA_A + JAVA_C) & JAVA_MASK48;
    state[0] = x;
    return x >> 16;
}

#define java_random_STATE_WORDS 1

DEVICE void java_random_seed(u64 seed, u64 *state) { state[0] = (seed ^ JAVA_A) & JAVA_MASK48; }

DEVICE u64 java_random_next(u64 *state) { return java_next(state); }

#define java_lcg_STATE_WORDS 1

DEVICE void java_lcg_seed(u64 seed, u64 *state) { state[0] = seed & JAVA_MASK48; }

DEVICE u64 java_lcg_next(u64 *state) { return java_next(state); }

#define MINSTD_M 2147483647ULL

DEVICE void minstd_seed(u64 seed, u64 *state)
{
    u64 x = seed % MINSTD_M;
    if (x == 0)
        x = 1;
    state[0] = x;
}

#define minstd_rand_STATE_WORDS 1

DEVICE void minstd_rand_seed(u64 seed, u64 *state) { minstd_seed(seed, state); }

DEVICE void minstd_rand_set_state(u64 value, u64 *state) { state[0] = value; }

DEVICE u64 minstd_rand_next(u64 *state)
{
    u64 x = state[0] * 48271ULL % MINSTD_M;
    state[0] = x;
    return x;
}

#define minstd_rand0_STATE_WORDS 1

DEVICE void minstd_rand0_seed(u64 seed, u64 *state) { minstd_seed(seed, state); }

DEVICE void minstd_rand0_set_state(u64 value, u64 *state) { state[0] = value; }

DEVICE u64 minstd_rand0_next(u64 *state)
{
    u64 x = state[0] * 16807ULL % MINSTD_M;
    state[0] = x;
    return x;
}

#define MSVC_A 214013ULL
#define MSVC_C 2531011ULL

#define msvc_rand_STATE_WORDS 1

DEVICE void msvc_rand_seed(u64 seed, u64 *state) { state[0] = seed & 0xFFFFFFFFULL; }

DEVICE void msvc_rand_set_state(u64 value, u64 *state) { state[0] = value & 0xFFFFFFFFULL; }

DEVICE u64 msvc_rand_next(u64 *state)
{
    u64 x = (state[0] * MSVC_A + MSVC_C) & 0xFFFFFFFFULL;
    state[0] = x;
    return (x >> 16) & 0x7FFFULL;
}
