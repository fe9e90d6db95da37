// SplitMix64 (Vigna's splitmix64.c), and its output function, which seeds xorshift128+ and
// xoshiro256. Twin of gpu_kernels/families/splitmix.py.
#pragma once
#include "../prelude.cuh"

#define SPLITMIX64_GAMMA 0x9E3779B97F4A7C15ULL

// The output function of the (already incremented) state z.
DEVICE u64 splitmix64_mix(u64 z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#define splitmix64_STATE_WORDS 1

DEVICE void splitmix64_seed(u64 seed, u64 *state) { state[0] = seed; }

DEVICE u64 splitmix64_next(u64 *state)
{
    u64 z = state[0] + SPLITMIX64_GAMMA;
    state[0] = z;
    return splitmix64_mix(z);
}
