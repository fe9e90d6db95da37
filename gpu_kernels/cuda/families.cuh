// Every generator family's device functions (families/<module>.cuh, twins of
// gpu_kernels/families/<module>.py), and MIMICRY_FAMILIES, the list the kernels dispatch on:
// X(name, state words, has set_state) for each family, in gpu_kernels.registry.FAMILIES order.
// Each family NAME defines NAME_STATE_WORDS, NAME_seed(u64 seed, u64 *state) and
// u64 NAME_next(u64 *state); those with state search also NAME_set_state(u64 value, u64 *state).
#pragma once
#include "prelude.cuh"
#include "families/mersenne.cuh"
#include "families/glibc.cuh"
#include "families/lcg.cuh"
#include "families/splitmix.cuh"
#include "families/xorshift.cuh"
#include "families/v8.cuh"
#include "families/pcg.cuh"
#include "families/xoshiro.cuh"
#include "families/sfc.cuh"
#include "families/philox.cuh"

#define MIMICRY_FAMILIES(X)                                                                     \
    X(mt19937, 625, 0)                                                                          \
    X(python_random, 625, 0)                                                                    \
    X(php5_mt, 625, 0)                                                                          \
    X(glibc_rand, 32, 0)                                                                        \
    X(java_random, 1, 0)                                                                        \
    X(java_lcg, 1, 0)                                                                           \
    X(minstd_rand, 1, 1)                                                                        \
    X(minstd_rand0, 1, 1)                                                                       \
    X(lcg32, 1, 1)                                                                              \
    X(msvc_rand, 1, 1)                                                                          \
    X(xorshift32, 1, 1)                                                                         \
    X(xorshift64, 1, 0)                                                                         \
    X(xorshift128, 4, 0)                                                                        \
    X(xorshift128plus, 2, 0)                                                                    \
    X(v8, 67, 0)                                                                                \
    X(splitmix64, 1, 0)                                                                         \
    X(pcg32, 1, 0)                                                                              \
    X(xoshiro256pp, 4, 0)                                                                       \
    X(xoshiro256ss, 4, 0)                                                                       \
    X(sfc64, 4, 0)                                                                              \
    X(philox4x32, 11, 0)

// The largest state, for a kernel's local state array.
#define MIMICRY_MAX_STATE_WORDS 625

// The list's state words are each family's own.
#define MIMICRY_CHECK_STATE_WORDS(name, words, has_set_state)                                   \
    static_assert(name##_STATE_WORDS == (words) && (words) <= MIMICRY_MAX_STATE_WORDS, #name);
MIMICRY_FAMILIES(MIMICRY_CHECK_STATE_WORDS)
#undef MIMICRY_CHECK_STATE_WORDS
