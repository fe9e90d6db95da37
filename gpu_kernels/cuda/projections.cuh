// The projections of gpu_kernels/projections.py: how one call's words become a draw's code, the
// numba draws line for line (the tests run both on the same words). A projection is chosen at
// run time by its index in MIMICRY_PROJECTIONS, the order of gpu_kernels.backends.gpu's
// PROJECTION_ORDER; `param` is the projection's numba_param.
#pragma once
#include "prelude.cuh"

#define MIMICRY_PROJECTIONS(X)                                                                  \
    X(mod)                                                                                      \
    X(python_randrange)                                                                         \
    X(python_getrandbits)                                                                       \
    X(python_float)                                                                             \
    X(java_nextint)                                                                             \
    X(php_mt_rand)                                                                              \
    X(php_mt_rand_range)                                                                        \
    X(php5_mt_rand_range)                                                                       \
    X(raw)                                                                                      \
    X(java_nextint32)                                                                           \
    X(java_nextlong)                                                                            \
    X(python_random_float)                                                                      \
    X(v8_math_random)

enum ProjectionIndex {
#define MIMICRY_PROJECTION_ENUM(name) PROJECTION_##name,
    MIMICRY_PROJECTIONS(MIMICRY_PROJECTION_ENUM)
#undef MIMICRY_PROJECTION_ENUM
    PROJECTION_COUNT
};

// One call of projection `projection` on family F's stream: attempts until one is accepted.
template <typename F>
DEVICE i64 project(int projection, u64 *state, u64 modulus, i64 param)
{
    const u64 low32 = 0xFFFFFFFFULL;
    switch (projection) {
    case PROJECTION_mod:
        return (i64)(F::next(state) % modulus);
    case PROJECTION_python_randrange:
        for (;;) {
            u64 r = (F::next(state) & low32) >> (u64)param;  // param: 32 - k
            if (r < modulus)
                return (i64)r;
        }
    case PROJECTION_python_getrandbits:
        return (i64)((F::next(state) & low32) >> (u64)param);
    case PROJECTION_python_float: {
        u64 a = (F::next(state) & low32) >> 5;
        u64 b = (F::next(state) & low32) >> 6;
        double x = ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
        return (i64)floor(x * (double)modulus);
    }
    case PROJECTION_java_nextint: {
        i64 bound = (i64)modulus;
        if (param == 1)  // a power of two: (int)((bound * (long) next(31)) >> 31)
            return (bound * (i64)((F::next(state) & low32) >> 1)) >> 31;
        for (;;) {
            i64 u = (i64)((F::next(state) & low32) >> 1);
            i64 r = u % bound;
            // Java: u - r + (bound - 1) overflowing a 32-bit int rejects the attempt.
            if (u - r + (bound - 1) < 0x80000000LL)
                return r;
        }
    }
    case PROJECTION_php_mt_rand:
        return (i64)((F::next(state) & low32) >> 1);
    case PROJECTION_php_mt_rand_range: {
        if (param == 0xFFFFFFFFLL)  // a power of two: result & (M - 1)
            return (i64)(F::next(state) & low32 & (modulus - 1));
        for (;;) {
            u64 result = F::next(state) & low32;
            if (result <= (u64)param)
                return (i64)(result % modulus);
        }
    }
    case PROJECTION_php5_mt_rand_range: {
        double n = (double)((F::next(state) & low32) >> 1);
        return (i64)((double)modulus * (n / 2147483648.0));
    }
    case PROJECTION_raw:
    case PROJECTION_java_nextint32:
        return (i64)(F::next(state) & (u64)param);  // param: the word mask (-1: 64 bits)
    case PROJECTION_java_nextlong: {
        u64 high = F::next(state) & low32;
        u64 low = F::next(state) & low32;
        u64 code = (high << 32) + low;
        if (low >= 0x80000000ULL)  // + (long) next(32): a negative int borrows 2^32
            code -= 0x100000000ULL;
        return (i64)code;
    }
    case PROJECTION_python_random_float: {
        u64 a = (F::next(state) & low32) >> 5;
        u64 b = (F::next(state) & low32) >> 6;
        return (i64)((a << 26) | b);
    }
    case PROJECTION_v8_math_random:
        return (i64)(F::next(state) >> 12);
    }
    return -1;  // an unknown index: matches no window (codes are in [0, M))
}
