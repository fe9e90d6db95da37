// The CUDA built-ins the kernels use, for the host (g++ -DMIMICRY_HOST): a launch becomes a
// loop over blocks and threads, run by OpenMP over blocks, and atomics become GCC's __atomic
// builtins. A test and debugging target, not a fast path: the cpu backend is the fast path on
// CPUs. Only what the kernels need is here; a kernel that uses more fails to compile for the
// host, which the tests catch.
#pragma once

#include <math.h>
#include <stdint.h>

#define __device__
#define __host__
#define __global__
#define __forceinline__ inline __attribute__((always_inline))
#define __restrict__ __restrict

struct mimicry_dim3 {
    unsigned int x, y, z;
};

// The launch coordinates of the "thread" running now: one per OpenMP thread.
extern thread_local mimicry_dim3 threadIdx;
extern thread_local mimicry_dim3 blockIdx;
extern mimicry_dim3 blockDim;
extern mimicry_dim3 gridDim;

static inline unsigned int atomicAdd(unsigned int *address, unsigned int value)
{
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}

static inline unsigned long long atomicAdd(unsigned long long *address, unsigned long long value)
{
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}

static inline unsigned int atomicOr(unsigned int *address, unsigned int value)
{
    return __atomic_fetch_or(address, value, __ATOMIC_RELAXED);
}

static inline unsigned int __umulhi(unsigned int a, unsigned int b)
{
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}

static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b)
{
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}

// MIMICRY_HOST_LAUNCH(kernel, grid, block, args...): every block and thread of a launch, in
// turn per OpenMP thread (threads of one block run one after another: the kernels never
// synchronise inside a block).
#define MIMICRY_HOST_DEFINE_COORDINATES                                                         \
    thread_local mimicry_dim3 threadIdx;                                                        \
    thread_local mimicry_dim3 blockIdx;                                                         \
    mimicry_dim3 blockDim;                                                                      \
    mimicry_dim3 gridDim;

#define MIMICRY_HOST_LAUNCH(kernel, grid, block, ...)                                           \
    do {                                                                                        \
        gridDim = mimicry_dim3{(unsigned int)(grid), 1, 1};                                     \
        blockDim = mimicry_dim3{(unsigned int)(block), 1, 1};                                   \
        _Pragma("omp parallel for schedule(dynamic, 1)")                                        \
        for (long long b = 0; b < (long long)(grid); b++) {                                     \
            blockIdx = mimicry_dim3{(unsigned int)b, 0, 0};                                     \
            for (unsigned int t = 0; t < (unsigned int)(block); t++) {                          \
                threadIdx = mimicry_dim3{t, 0, 0};                                              \
                kernel(__VA_ARGS__);                                                            \
            }                                                                                   \
        }                                                                                       \
    } while (0)
