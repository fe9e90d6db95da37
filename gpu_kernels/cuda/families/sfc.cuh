// Chris Doty-Humphrey's SFC64 (PractRand sfc64 raw64/seed). Twin of gpu_kernels/families/sfc.py.
#pragma once
#include "../prelude.cuh"

#define SFC64_SEED_ROUNDS 12

#define sfc64_STATE_WORDS 4

DEVICE u64 sfc64_next(u64 *state)
{
    u64 a = state[0];
    u64 b = state[1];
    u64 c = state[2];
    u64 counter = state[3];
    u64 tmp = a + b + counter;
    state[3] = counter + 1;
    state[0] = b ^ (b >> 11);
    state[1] = c + (c << 3);
    state[2] = ((c << 24) | (c >> 40)) + tmp;
    return tmp;
}

DEVICE void sfc64_seed(u64 seed, u64 *state)
{
    state[0] = seed;
    state[1] = seed;
    state[2] = seed;
    state[3] = 1;
    for (int n = 0; n < SFC64_SEED_ROUNDS; n++)
        sfc64_next(state);
}
