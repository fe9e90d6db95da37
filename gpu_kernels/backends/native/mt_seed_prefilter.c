/* The MT19937 seed prefilter of the cpu backend, compiled for the host (gcc -O3 -march=native
 * -fopenmp): php_mt_seed's method in GCC vector types, so the same source runs 16 lanes on
 * AVX-512, 8 on AVX2 and 4 on SSE2 or NEON, whatever the compiler finds.
 *
 * For a block of consecutive seeds it runs init_genrand only as far as the words the window's
 * first draws read (state words w, w+1 and w+397 make output w of a fresh state), and keeps a
 * seed when the first `depth` window draws sit on outputs p, p + stride, ... for some first call
 * p in [word_lo, word_hi]; keep[i] holds a bit for each twist (flavour) that keeps seed lo + i.
 * It is exact: a kept seed may still fail the full check, a seed it
 * drops always would. Where a projection redraws a word above `reject_limit` (PHP 7.1+'s
 * mt_rand(0, M-1)), calls no longer sit on their words, so a seed that meets such a word is kept
 * whole for the full check.
 *
 * The Python side (gpu_kernels/backends/native.py) mirrors `struct mt_seed_job` with ctypes and
 * falls back to the numba prefilter when no C compiler is there; the tests run both against the
 * reference generators.
 */
#include <stdint.h>

/* The widest vector the host's registers hold: wider GCC vectors are split into pairs, and eight
 * chains of pairs no longer fit the sixteen AVX2 registers (64-byte vectors on AVX2 ran 4.6 M
 * seeds/s against 31 M/s for 32-byte ones, on 2 cores). */
#ifndef VECTOR_BYTES
#if defined(__AVX512F__)
#define VECTOR_BYTES 64
#elif defined(__AVX2__)
#define VECTOR_BYTES 32
#else
#define VECTOR_BYTES 16
#endif
#endif
#define LANES (VECTOR_BYTES / 4)
/* Independent vectors advanced together: init_genrand is one long dependency chain per seed
 * (six cycles a step), and the more chains in flight, the fuller the vector pipes. php_mt_seed
 * interleaves eight. With AVX-512's 32 registers sixteen fit: 2.20 against 2.45 cycles a vector
 * step, and the kernel sweeps 126.6 against 117.1 M seeds/s on 2 Zen 4 cores (20 and 24: as 16).
 * With sixteen registers (AVX2, SSE2) twelve chains and the two constants fit: 119.4 against
 * 104.4 M seeds/s for AVX2 code, 57.4 against 52.9 for SSE2 (the same cores; medians of runs
 * side by side, benchmarks/mt_seed_kernel.py, docs/design.md §6.3). */
#ifndef VECTORS
#if defined(__AVX512F__)
#define VECTORS 16
#else
#define VECTORS 12
#endif
#endif
/* `#pragma GCC unroll` takes no macro; _Pragma does. */
#define PRAGMA_TEXT(text) #text
#define UNROLL(count) _Pragma(PRAGMA_TEXT(GCC unroll count))
#define BLOCK (LANES * VECTORS)
#define MAX_DEPTH 8
/* Output w needs state word w + 397 of init_genrand; past this the first twist is needed. */
#define MAX_WORD 225

/* MT19937's twist takes the odd bit from word w + 1; PHP 5.2.1-7.0's from word w. Both start
 * from the same init_genrand, so one pass over the seeds serves both (php_mt_seed's one pass). */
#define TWIST_MT19937 1
#define TWIST_PHP5 2
#define TWISTS 2

typedef uint32_t u32v __attribute__((vector_size(VECTOR_BYTES)));
typedef int32_t i32v __attribute__((vector_size(VECTOR_BYTES)));
typedef uint8_t u8v __attribute__((vector_size(LANES)));

struct mt_seed_job {
    uint64_t lo;          /* first seed (seeds are taken mod 2^32) */
    int64_t count;        /* seeds lo .. lo + count - 1 */
    int32_t word_lo;      /* calls the first window draw may sit at */
    int32_t word_hi;
    int32_t depth;        /* window draws tested, 1 .. MAX_DEPTH */
    int32_t stride;       /* calls from one window draw to the next (constant skip + 1) */
    int32_t twists;       /* which twists to test, a bit each: TWIST_MT19937, TWIST_PHP5 */
    int32_t kind;         /* 0: output % M == draw;  1: low <= output >> 1 < high */
    uint32_t inverse;     /* kind 0: Divisor.of(M), see prefilter_tests.Divisor */
    uint32_t shift;
    uint32_t limit;
    uint32_t reject_limit; /* a word above it is redrawn (0xFFFFFFFF: never) */
    int32_t threads;
    int32_t kept;         /* out: nonzero where any seed was kept (else keep need not be read) */
    uint32_t draw[MAX_DEPTH];
    uint32_t low[MAX_DEPTH];
    uint32_t high[MAX_DEPTH];
};

static inline i32v matches(const struct mt_seed_job *job, u32v output, int j)
{
    if (job->kind == 0) {
        /* output % M == draw without a division (Hacker's Delight 10-17), as the numba kernel */
        u32v product = (output - job->draw[j]) * job->inverse;
        u32v rotated = (product >> job->shift) | (product << ((32 - job->shift) & 31));
        return (output >= job->draw[j]) & (rotated <= job->limit);
    }
    u32v half = output >> 1;
    return (half >= job->low[j]) & (half < job->high[j]);
}

static inline u32v temper(u32v y)
{
    y ^= y >> 11;
    y ^= (y << 7) & 0x9D2C5680u;
    y ^= (y << 15) & 0xEFC60000u;
    return y ^ (y >> 18);
}

int mt_seed_prefilter(struct mt_seed_job *job, uint8_t *keep)
{
    if (job->depth < 1 || job->depth > MAX_DEPTH || job->stride < 1 || job->word_lo < 0 ||
        job->word_hi < job->word_lo || job->twists < 1 || job->twists > 3)
        return 1;
    const int last_word = job->word_hi + (job->depth - 1) * job->stride;
    if (last_word > MAX_WORD)
        return 2;
    const int64_t blocks = (job->count + BLOCK - 1) / BLOCK;
    int kept_any = 0;

#pragma omp parallel for schedule(dynamic, 64) num_threads(job->threads) reduction(| : kept_any)
    for (int64_t block = 0; block < blocks; block++) {
        /* State words 0 .. last_word + 1 and 397 .. 397 + last_word, a row per word. */
        u32v low[last_word + 2][VECTORS];
        u32v high[last_word + 1][VECTORS];
        u32v x[VECTORS];
        const uint32_t first = (uint32_t)(job->lo + (uint64_t)(block * BLOCK));
        u32v lane_index = {0};
        for (int lane = 0; lane < LANES; lane++)
            lane_index[lane] = (uint32_t)lane;
        for (int v = 0; v < VECTORS; v++) {
            x[v] = first + (uint32_t)(v * LANES) + lane_index;
            low[0][v] = x[v];
        }
        /* Three loops, each a plain chain step, so the vectors stay in registers. */
        for (int i = 1; i <= last_word + 1; i++) {
            UNROLL(VECTORS)
            for (int v = 0; v < VECTORS; v++) {
                x[v] = 1812433253u * (x[v] ^ (x[v] >> 30)) + (uint32_t)i;
                low[i][v] = x[v];
            }
        }
        /* The step number as a vector counter: one add a step, where a broadcast of i took a
         * move, a broadcast and an increment (the multiplier is the bound: every uop counts). */
        u32v step = (u32v){0} + (uint32_t)(last_word + 2);
        for (int i = last_word + 2; i < 397; i++, step += 1u) {
            UNROLL(VECTORS)
            for (int v = 0; v < VECTORS; v++)
                x[v] = 1812433253u * (x[v] ^ (x[v] >> 30)) + step;
        }
        for (int i = 397; i <= 397 + last_word; i++) {
            UNROLL(VECTORS)
            for (int v = 0; v < VECTORS; v++) {
                x[v] = 1812433253u * (x[v] ^ (x[v] >> 30)) + (uint32_t)i;
                high[i - 397][v] = x[v];
            }
        }
        u32v kept_in_block = {0};
        for (int v = 0; v < VECTORS; v++) {
            const int64_t base = block * BLOCK + v * LANES;
            u32v kept = {0};
            /* The twisted words without their odd-bit term, the twists' one difference. */
            u32v untwisted[last_word + 1];
            for (int w = 0; w <= last_word; w++) {
                u32v y = (low[w][v] & 0x80000000u) | (low[w + 1][v] & 0x7FFFFFFFu);
                untwisted[w] = high[w][v] ^ (y >> 1);
            }
            for (int twist = 0; twist < TWISTS; twist++) {
                if (!(job->twists & (1 << twist)))
                    continue;
                u32v output[last_word + 1];
                i32v rejected = {0};
                for (int w = 0; w <= last_word; w++) {
                    u32v odd_source = twist == 1 ? low[w][v] : low[w + 1][v];
                    u32v value = untwisted[w] ^ (-(odd_source & 1u) & 0x9908B0DFu);
                    output[w] = temper(value);
                    rejected |= output[w] > job->reject_limit;
                }
                i32v hit = rejected;
                for (int p = job->word_lo; p <= job->word_hi; p++) {
                    i32v all = matches(job, output[p], 0);
                    for (int j = 1; j < job->depth; j++)
                        all &= matches(job, output[p + j * job->stride], j);
                    hit |= all;
                }
                kept |= (u32v)hit & (uint32_t)(1 << twist);
            }
            if (base + LANES <= job->count) {
                /* One narrowing store a vector (vpmovdb on AVX-512), not a byte a lane: 2 % of
                 * a sweep, measured. */
                u8v bytes = __builtin_convertvector(kept, u8v);
                __builtin_memcpy(keep + base, &bytes, LANES);
            } else {
                for (int lane = 0; lane < LANES; lane++)
                    if (base + lane < job->count)
                        keep[base + lane] = (uint8_t)kept[lane];
            }
            kept_in_block |= kept;
        }
        for (int lane = 0; lane < LANES; lane++)
            kept_any |= kept_in_block[lane] != 0;
    }
    job->kept = kept_any;
    return 0;
}
