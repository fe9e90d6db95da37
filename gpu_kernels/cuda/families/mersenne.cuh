// Mersenne Twister MT19937, one word at a time: std::mt19937 / PHP mt_srand seeding, CPython's
// init_by_array, and PHP 5's twist. Twin of gpu_kernels/families/mersenne.py: state[0:624] is
// the circular buffer, state[624] the index of the oldest word.
#pragma once
#include "../prelude.cuh"

#define MT_N 624
#define MT_M 397
#define MT_UPPER 0x80000000ULL
#define MT_LOWER 0x7FFFFFFFULL
#define MT_MATRIX_A 0x9908B0DFULL
#define MT_MASK32 0xFFFFFFFFULL

DEVICE void mt_init_genrand(u64 seed, u64 *state)
{
    state[0] = seed & MT_MASK32;
    for (int i = 1; i < MT_N; i++) {
        u64 p = state[i - 1];
        state[i] = (1812433253ULL * (p ^ (p >> 30)) + (u64)i) & MT_MASK32;
    }
}

// One step: MT19937's twist, or PHP 5.2.1-7.0's (the odd bit from the oldest word, whose bit 0
// the state then keeps); php_twist is a constant of each caller.
DEVICE u64 mt_step(u64 *state, bool php_twist)
{
    u64 i = state[MT_N];
    u64 j = i + 1;
    if (j == MT_N)
        j = 0;
    u64 k = i + MT_M;
    if (k >= MT_N)
        k -= MT_N;
    u64 y = (state[i] & MT_UPPER) | (state[j] & MT_LOWER);
    u64 next = state[k] ^ (y >> 1);
    u64 odd = php_twist ? state[i] : state[j];
    if (odd & 1ULL)
        next ^= MT_MATRIX_A;
    state[i] = next;
    state[j] &= php_twist ? (MT_UPPER | 1ULL) : MT_UPPER;
    state[MT_N] = j;
    next ^= next >> 11;
    next ^= (next << 7) & 0x9D2C5680ULL;
    next ^= (next << 15) & 0xEFC60000ULL;
    next ^= next >> 18;
    return next & MT_MASK32;
}

#define mt19937_STATE_WORDS 625

DEVICE void mt19937_seed(u64 seed, u64 *state)
{
    mt_init_genrand(seed, state);
    state[0] &= MT_UPPER;
    state[MT_N] = 0;
}

DEVICE u64 mt19937_next(u64 *state) { return mt_step(state, false); }

#define python_random_STATE_WORDS 625

// CPython's random.seed(int) for seeds below 2**64: init_by_array on its one or two 32-bit
// chunks, least significant first.
DEVICE void python_random_seed(u64 seed, u64 *state)
{
    u64 key[2];
    key[0] = seed & MT_MASK32;
    key[1] = seed >> 32;
    int key_len = key[1] != 0 ? 2 : 1;
    mt_init_genrand(19650218ULL, state);
    int i = 1;
    int j = 0;
    for (int n = 0; n < MT_N; n++) {  // max(N, key_len) == N
        u64 p = state[i - 1];
        u64 x = state[i] ^ ((p ^ (p >> 30)) * 1664525ULL);
        state[i] = (x + key[j] + (u64)j) & MT_MASK32;
        i++;
        j++;
        if (i >= MT_N) {
            state[0] = state[MT_N - 1];
            i = 1;
        }
        if (j >= key_len)
            j = 0;
    }
    for (int n = 0; n < MT_N - 1; n++) {
        u64 p = state[i - 1];
        u64 x = state[i] ^ ((p ^ (p >> 30)) * 1566083941ULL);
        state[i] = (x - (u64)i) & MT_MASK32;
        i++;
        if (i >= MT_N) {
            state[0] = state[MT_N - 1];
            i = 1;
        }
    }
    state[0] = 0x80000000ULL;
    state[MT_N] = 0;
}

DEVICE u64 python_random_next(u64 *state) { return mt_step(state, false); }

#define php5_mt_STATE_WORDS 625

DEVICE void php5_mt_seed(u64 seed, u64 *state)
{
    mt_init_genrand(seed, state);
    state[0] &= MT_UPPER | 1ULL;
    state[MT_N] = 0;
}

DEVICE u64 php5_mt_next(u64 *state) { return mt_step(state, true); }
