// The host target of the gpu backend (MIMICRY_GPU_TARGET=host): the sieve kernel compiled by
// g++ with host_shim.h, launched over the same grid and block as on a GPU, one entry point
// for every family. For tests and debugging; gpu_kernels/backends/gpu.py drives it exactly as
// it drives a CUDA or HIP launch.
#include "kernels.cuh"

MIMICRY_HOST_DEFINE_COORDINATES

extern "C" int mimicry_host_sieve(int family, long long grid, int block, const u64 *candidates,
                                  u64 lo, u64 count, int use_list, const i64 *params,
                                  const i64 *window, u64 *out_candidate, i64 *out_first_call,
                                  i64 *out_skip, i64 *out_gaps, i64 *out_matches,
                                  unsigned int *out_count, unsigned int *out_overflow,
                                  unsigned int capacity, int gap_slots)
{
    switch (family) {
#define MIMICRY_HOST_CASE(name, words, has_set_state)                                           \
    case FAMILY_##name:                                                                         \
        MIMICRY_HOST_LAUNCH(sieve_kernel<FAMILY_##name>, grid, block, candidates, lo, count,    \
                            use_list, params, window, out_candidate, out_first_call, out_skip,    \
                            out_gaps, out_matches, out_count, out_overflow, capacity,           \
                            gap_slots);                                                         \
        return 0;
        MIMICRY_FAMILIES(MIMICRY_HOST_CASE)
#undef MIMICRY_HOST_CASE
    }
    return 1;
}

extern "C" void mimicry_host_mt_seed_prefilter(long long grid, int block, u64 lo, u64 count,
                                               const u32 *test, u64 *kept,
                                               unsigned int *kept_count, unsigned int capacity,
                                               unsigned int *overflow)
{
    MIMICRY_HOST_LAUNCH(mt_seed_prefilter, grid, block, lo, count, test, kept, kept_count,
                        capacity, overflow);
}

extern "C" void mimicry_host_first_word_prefilter(long long grid, int block, int family, u64 lo,
                                                  u64 count, const u32 *test, const u32 *table,
                                                  u64 *kept, unsigned int *kept_count,
                                                  unsigned int capacity, unsigned int *overflow)
{
    MIMICRY_HOST_LAUNCH(first_word_prefilter, grid, block, family, lo, count, test, table, kept,
                        kept_count, capacity, overflow);
}
