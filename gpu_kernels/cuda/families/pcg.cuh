// O'Neill's pcg32 (PCG-XSH-RR 64/32, pcg_basic.c) on the fixed stream initseq = 54.
// Twin of gpu_kernels/families/pcg.py.
#pragma once
#include "../prelude.cuh"

#define PCG32_MULTIPLIER 6364136223846793005ULL
#define PCG32_INCREMENT 109ULL  // (54 << 1) | 1

#define pcg32_STATE_WORDS 1

DEVICE void pcg32_seed(u64 seed, u64 *state)
{
    // state = 0; step; state += seed; step.  The first step from 0 leaves inc.
    state[0] = (PCG32_INCREMENT + seed) * PCG32_MULTIPLIER + PCG32_INCREMENT;
}

DEVICE u64 pcg32_next(u64 *state)
{
    u64 old = state[0];
    state[0] = old * PCG32_MULTIPLIER + PCG32_INCREMENT;
    u64 xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFFULL;
    u64 rot = old >> 59;
    // (32 - rot) & 31 == (-rot) & 31, and keeps the shift below 32 (rot == 0 shifts by 0).
    return ((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & 0xFFFFFFFFULL;
}
