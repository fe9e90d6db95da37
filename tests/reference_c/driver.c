/* Test driver for the reference generators in this folder (not a reference itself).
 *
 * Built once per generator with -DGEN_<NAME>. Reads lines "SEED COUNT" (decimal) from stdin;
 * for each line seeds the generator with SEED the way gpu_kernels.families defines the family
 * and writes COUNT words to stdout as little-endian uint64 (32-bit words zero-extended).
 * The philox build also reads lines "kat C0 C1 C2 C3 K0 K1" (hex) and writes the 4 words of
 * philox4x32(ctr, key) for that one block.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <inttypes.h>

#if defined(GEN_XORSHIFT32)
#include "marsaglia_xorshift.c"
static void gen_seed(uint64_t seed) { y = (uint32_t)seed; }
static uint64_t gen_next(void) { return xor(); }

#elif defined(GEN_XORSHIFT64)
#include "marsaglia_xorshift.c"
static void gen_seed(uint64_t seed) { x64 = seed; }
static uint64_t gen_next(void) { return xor64(); }

#elif defined(GEN_XORSHIFT128)
#include "marsaglia_xorshift.c"
/* Only x is seeded; y, z, w keep the paper's initial values. */
static void gen_seed(uint64_t seed) {
    x = (uint32_t)seed; y128 = 362436069; z = 521288629; w = 88675123;
}
static uint64_t gen_next(void) { return xor128(); }

#elif defined(GEN_SPLITMIX64)
#include "splitmix64.c"
static void gen_seed(uint64_t seed) { x = seed; }
static uint64_t gen_next(void) { return next(); }

#else
/* The remaining generators seed from splitmix64 or have their own seeding; the splitmix64 file
 * is renamed on inclusion so that its next() and x do not collide with the generator's. */
#define next splitmix64_next
#define x splitmix64_x
#include "splitmix64.c"
#undef next
#undef x

#if defined(GEN_XORSHIFT128PLUS)
#include "xorshift128plus.c"
static void gen_seed(uint64_t seed) {
    splitmix64_x = seed;
    s[0] = splitmix64_next();
    s[1] = splitmix64_next();
}
static uint64_t gen_next(void) { return next(); }

#elif defined(GEN_XOSHIRO256PP) || defined(GEN_XOSHIRO256SS)
#if defined(GEN_XOSHIRO256PP)
#include "xoshiro256plusplus.c"
#else
#include "xoshiro256starstar.c"
#endif
static void gen_seed(uint64_t seed) {
    splitmix64_x = seed;
    for (int i = 0; i < 4; i++) s[i] = splitmix64_next();
}
static uint64_t gen_next(void) { return next(); }

#elif defined(GEN_PCG32)
#include "pcg_basic.c"
static pcg32_random_t rng;
static void gen_seed(uint64_t seed) { pcg32_srandom_r(&rng, seed, 54u); }
static uint64_t gen_next(void) { return pcg32_random_r(&rng); }

#elif defined(GEN_SFC64)
#include "sfc64.c"
static sfc64 rng;
static void gen_seed(uint64_t seed) { sfc64_seed(&rng, seed); }
static uint64_t gen_next(void) { return sfc64_raw64(&rng); }

#elif defined(GEN_PHILOX4X32)
#include "philox4x32.c"
/* Stream: key = (seed lo32, seed hi32); counter blocks 0, 1, 2, ... as a 128-bit integer whose
 * 32-bit words are v[0] (least significant) .. v[3]; each block's 4 words in order. */
static philox4x32_key_t key;
static philox4x32_ctr_t ctr;
static philox4x32_ctr_t out;
static int index_in_block;
static void gen_seed(uint64_t seed) {
    key.v[0] = (uint32_t)seed;
    key.v[1] = (uint32_t)(seed >> 32);
    memset(&ctr, 0, sizeof ctr);
    index_in_block = 4;
}
static uint64_t gen_next(void) {
    if (index_in_block == 4) {
        out = philox4x32(ctr, key);
        for (int i = 0; i < 4; i++) if (++ctr.v[i] != 0) break;
        index_in_block = 0;
    }
    return out.v[index_in_block++];
}
#define HAVE_KAT 1

#else
#error "define one GEN_<NAME>"
#endif
#endif

int main(void) {
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
#ifdef HAVE_KAT
        if (strncmp(line, "kat", 3) == 0) {
            philox4x32_ctr_t c;
            philox4x32_key_t k;
            if (sscanf(line + 3, "%" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32
                       " %" SCNx32, &c.v[0], &c.v[1], &c.v[2], &c.v[3], &k.v[0], &k.v[1]) != 6)
                return 2;
            philox4x32_ctr_t r = philox4x32(c, k);
            for (int i = 0; i < 4; i++) {
                uint64_t word = r.v[i];
                fwrite(&word, sizeof word, 1, stdout);
            }
            continue;
        }
#endif
        uint64_t seed, count;
        if (sscanf(line, "%" SCNu64 " %" SCNu64, &seed, &count) != 2) return 2;
        gen_seed(seed);
        for (uint64_t i = 0; i < count; i++) {
            uint64_t word = gen_next();
            fwrite(&word, sizeof word, 1, stdout);
        }
    }
    return 0;
}
