// Blackman and Vigna's xoshiro256++ and xoshiro256** (1.0), seeded from SplitMix64.
// Twin of gpu_kernels/families/xoshiro.py.
#pragma once
#include "../prelude.cuh"
#include "splitmix.cuh"

DEVICE void xoshiro256_seed(u64 seed, u64 *state)
{
    u64 z = seed;
    for (int i = 0; i < 4; i++) {
        z += SPLITMIX64_GAMMA;
        state[i] = splitmix64_mix(z);
    }
}

// The linear engine shared by xoshiro256++ and xoshiro256**.
DEVICE void xoshiro256_step(u64 *state)
{
    u64 t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    u64 s3 = state[3];
    state[3] = (s3 << 45) | (s3 >> 19);
}

#define xoshiro256pp_STATE_WORDS 4

DEVICE void xoshiro256pp_seed(u64 seed, u64 *state) { xoshiro256_seed(seed, state); }

DEVICE u64 xoshiro256pp_next(u64 *state)
{
    u64 v = state[0] + state[3];
    u64 result = ((v << 23) | (v >> 41)) + state[0];
    xoshiro256_step(state);
    return result;
}

#define xoshiro256ss_STATE_WORDS 4

DEVICE void xoshiro256ss_seed(u64 seed, u64 *state) { xoshiro256_seed(seed, state); }

DEVICE u64 xoshiro256ss_next(u64 *state)
{
    u64 v = state[1] * 5ULL;
    u64 result = ((v << 7) | (v >> 57)) * 9ULL;
    xoshiro256_step(state);
    return result;
}
