// The MT19937 seed prefilter on the GPU, one thread per seed: the cpu backend's compiled
// prefilter (gpu_kernels/backends/native/mt_seed_prefilter.c) thread by thread. init_genrand
// runs only as far as the words the first `depth` window draws read (output w of a fresh state
// needs state words w, w + 1 and w + 397), and a seed is kept when those draws sit on outputs
// p, p + stride, ... for some first call p in [word_lo, word_hi], or when a word above the
// rejection limit makes its calls leave their words. Kept seeds go to a bounded list through an
// atomic counter (overflow: the host cuts the range in halves), then to the sieve kernel.
#pragma once
#include "prelude.cuh"

#define MT_PREFILTER_MAX_DEPTH 8
#define MT_PREFILTER_MAX_WORD 225

// The test, as u32 words in the order of gpu_kernels.backends.native.MtSeedJob's fields from
// word_lo on (the host packs it: gpu_kernels.backends.gpu.mt_test_words).
enum MtTestWord {
    MT_WORD_LO,
    MT_WORD_HI,
    MT_DEPTH,
    MT_STRIDE,
    MT_TWISTS,  // one twist a pass here: 1 MT19937's, 2 PHP 5.2.1-7.0's (mt_seed_prefilter.c)
    MT_KIND,
    MT_INVERSE,
    MT_SHIFT,
    MT_LIMIT,
    MT_REJECT_LIMIT,
    MT_DRAW,
    MT_LOW = MT_DRAW + MT_PREFILTER_MAX_DEPTH,
    MT_HIGH = MT_LOW + MT_PREFILTER_MAX_DEPTH,
    MT_TEST_WORDS = MT_HIGH + MT_PREFILTER_MAX_DEPTH
};

DEVICE bool mt_prefilter_matches(const u32 *test, u32 output, int j)
{
    if (test[MT_KIND] == 0) {
        // output % M == draw without a division (Hacker's Delight 10-17), as on the cpu
        u32 draw = test[MT_DRAW + j], shift = test[MT_SHIFT];
        u32 product = (output - draw) * test[MT_INVERSE];
        u32 rotated = (product >> shift) | (product << ((32 - shift) & 31));
        return output >= draw && rotated <= test[MT_LIMIT];
    }
    u32 half = output >> 1;
    return half >= test[MT_LOW + j] && half < test[MT_HIGH + j];
}

DEVICE u32 mt_prefilter_temper(u32 y)
{
    y ^= y >> 11;
    y ^= (y << 7) & 0x9D2C5680u;
    y ^= (y << 15) & 0xEFC60000u;
    return y ^ (y >> 18);
}

extern "C" __global__ void mt_seed_prefilter(u64 lo, u64 count, const u32 *test, u64 *kept,
                                             unsigned int *kept_count, unsigned int capacity,
                                             unsigned int *overflow)
{
    const int word_lo = (int)test[MT_WORD_LO], word_hi = (int)test[MT_WORD_HI];
    const int depth = (int)test[MT_DEPTH], stride = (int)test[MT_STRIDE];
    const int last_word = word_hi + (depth - 1) * stride;
    const u64 threads = (u64)blockDim.x * gridDim.x;
    for (u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x; j < count; j += threads) {
        u32 low[MT_PREFILTER_MAX_WORD + 2], high[MT_PREFILTER_MAX_WORD + 1];
        u32 x = (u32)(lo + j);
        low[0] = x;
        for (int i = 1; i <= last_word + 1; i++)
            low[i] = x = 1812433253u * (x ^ (x >> 30)) + (u32)i;
        for (int i = last_word + 2; i < 397; i++)
            x = 1812433253u * (x ^ (x >> 30)) + (u32)i;
        for (int i = 397; i <= 397 + last_word; i++)
            high[i - 397] = x = 1812433253u * (x ^ (x >> 30)) + (u32)i;
        bool keep = false;
        u32 output[MT_PREFILTER_MAX_WORD + 1];
        for (int w = 0; w <= last_word; w++) {
            u32 odd_source = test[MT_TWISTS] == 2u ? low[w] : low[w + 1];
            u32 y = (low[w] & 0x80000000u) | (low[w + 1] & 0x7FFFFFFFu);
            output[w] = mt_prefilter_temper(high[w] ^ (y >> 1) ^ ((0u - (odd_source & 1u)) & 0x9908B0DFu));
            keep |= output[w] > test[MT_REJECT_LIMIT];
        }
        for (int p = word_lo; p <= word_hi && !keep; p++) {
            bool all = true;
            for (int d = 0; d < depth && all; d++)
                all = mt_prefilter_matches(test, output[p + d * stride], d);
            keep = all;
        }
        if (keep) {
            unsigned int n = atomicAdd(kept_count, 1u);
            if (n < capacity)
                kept[n] = lo + j;
            else
                atomicOr(overflow, 1u);
        }
    }
}
