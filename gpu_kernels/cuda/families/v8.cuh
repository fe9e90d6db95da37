// V8's Math.random(): xorshift128+ behind a 64-value cache served last-first.
// Twin of gpu_kernels/families/v8.py: state[0:2] the xorshift state, state[2] the values left to
// serve, state[3:67] the cache.
#pragma once
#include "../prelude.cuh"
#include "xorshift.cuh"

#define V8_CACHE_SIZE 64

// MurmurHash3's 64-bit finaliser, V8's seed scrambler.
DEVICE u64 v8_fmix64(u64 h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

#define v8_STATE_WORDS (3 + V8_CACHE_SIZE)

DEVICE void v8_seed(u64 seed, u64 *state)
{
    state[0] = v8_fmix64(seed);
    state[1] = v8_fmix64(~seed);
    state[2] = 0;
}

DEVICE u64 v8_next(u64 *state)
{
    if (state[2] == 0) {
        for (int i = 0; i < V8_CACHE_SIZE; i++) {
            xorshift128plus_next(state);  // state[0:2]
            state[3 + i] = state[0];
        }
        state[2] = V8_CACHE_SIZE;
    }
    state[2] -= 1;
    return state[3 + state[2]];
}
