// Marsaglia's xorshift generators (2003) and Vigna's xorshift128+ (shifts 23, 17, 26).
// Twin of gpu_kernels/families/xorshift.py.
#pragma once
#include "../prelude.cuh"
#include "splitmix.cuh"

#define XORSHIFT_MASK32 0xFFFFFFFFULL

#define xorshift32_STATE_WORDS 1

DEVICE void xorshift32_seed(u64 seed, u64 *state) { state[0] = seed & XORSHIFT_MASK32; }

DEVICE void xorshift32_set_state(u64 value, u64 *state) { state[0] = value & XORSHIFT_MASK32; }

DEVICE u64 xorshift32_next(u64 *state)
{
    u64 y = state[0];
    y ^= (y << 13) & XORSHIFT_MASK32;
    y ^= y >> 17;
    y ^= (y << 5) & XORSHIFT_MASK32;
    state[0] = y;
    return y;
}

#define xorshift64_STATE_WORDS 1

DEVICE void xorshift64_seed(u64 seed, u64 *state) { state[0] = seed; }

DEVICE u64 xorshift64_next(u64 *state)
{
    u64 x = state[0];
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state[0] = x;
    return x;
}

#define xorshift128_STATE_WORDS 4

DEVICE void xorshift128_seed(u64 seed, u64 *state)
{
    state[0] = seed & XORSHIFT_MASK32;
    state[1] = 362436069ULL;
    state[2] = 521288629ULL;
    state[3] = 88675123ULL;
}

DEVICE u64 xorshift128_next(u64 *state)
{
    u64 x = state[0];
    u64 w = state[3];
    u64 t = x ^ ((x << 11) & XORSHIFT_MASK32);
    state[0] = state[1];
    state[1] = state[2];
    state[2] = w;
    w = (w ^ (w >> 19)) ^ (t ^ (t >> 8));
    state[3] = w;
    return w;
}

#define xorshift128plus_STATE_WORDS 2

DEVICE void xorshift128plus_seed(u64 seed, u64 *state)
{
    u64 z = seed + SPLITMIX64_GAMMA;
    state[0] = splitmix64_mix(z);
    state[1] = splitmix64_mix(z + SPLITMIX64_GAMMA);
}

DEVICE u64 xorshift128plus_next(u64 *state)
{
    u64 s1 = state[0];
    u64 s0 = state[1];
    state[0] = s0;
    s1 ^= s1 << 23;
    s1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    state[1] = s1;
    return s1 + s0;
}
