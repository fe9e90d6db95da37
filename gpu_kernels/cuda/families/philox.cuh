// Philox4x32-10, Random123's counter-based generator. Twin of gpu_kernels/families/philox.py:
// state = [key0, key1, ctr0, ctr1, ctr2, ctr3, index, out0, out1, out2, out3].
#pragma once
#include "../prelude.cuh"

#define PHILOX4X32_ROUNDS 10
#define PHILOX4X32_M0 0xD2511F53ULL
#define PHILOX4X32_M1 0xCD9E8D57ULL
#define PHILOX4X32_W0 0x9E3779B9ULL
#define PHILOX4X32_W1 0xBB67AE85ULL
#define PHILOX4X32_MASK32 0xFFFFFFFFULL

// The block of the current counter into out0..3.
DEVICE void philox4x32_fill_block(u64 *state)
{
    u64 k0 = state[0];
    u64 k1 = state[1];
    u64 c0 = state[2];
    u64 c1 = state[3];
    u64 c2 = state[4];
    u64 c3 = state[5];
    for (int r = 0; r < PHILOX4X32_ROUNDS; r++) {
        if (r > 0) {
            k0 = (k0 + PHILOX4X32_W0) & PHILOX4X32_MASK32;
            k1 = (k1 + PHILOX4X32_W1) & PHILOX4X32_MASK32;
        }
        u64 p0 = PHILOX4X32_M0 * c0;
        u64 p1 = PHILOX4X32_M1 * c2;
        u64 n0 = (p1 >> 32) ^ c1 ^ k0;
        u64 n2 = (p0 >> 32) ^ c3 ^ k1;
        c1 = p1 & PHILOX4X32_MASK32;
        c3 = p0 & PHILOX4X32_MASK32;
        c0 = n0;
        c2 = n2;
    }
    state[7] = c0;
    state[8] = c1;
    state[9] = c2;
    state[10] = c3;
}

#define philox4x32_STATE_WORDS 11

DEVICE void philox4x32_seed(u64 seed, u64 *state)
{
    state[0] = seed & PHILOX4X32_MASK32;
    state[1] = seed >> 32;
    for (int i = 2; i < 11; i++)
        state[i] = 0;
}

DEVICE u64 philox4x32_next(u64 *state)
{
    u64 index = state[6];
    if (index == 0)
        philox4x32_fill_block(state);
    u64 word = state[7 + index];
    index += 1;
    if (index == 4) {
        index = 0;
        // 128-bit counter increment with carry through the 32-bit words.
        for (int i = 2; i < 6; i++) {
            u64 v = (state[i] + 1) & PHILOX4X32_MASK32;
            state[i] = v;
            if (v != 0)
                break;
        }
    }
    state[6] = index;
    return word;
}
