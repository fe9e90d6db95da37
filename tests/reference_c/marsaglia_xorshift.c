/* George Marsaglia, "Xorshift RNGs", Journal of Statistical Software 8(14), 2003.
 *
 * The three generators of the paper, transcribed from its code. Two changes, both needed to run
 * the paper's code on a 64-bit Linux host and to seed it from outside:
 *   - the paper's "unsigned long" is a 32-bit word; it is written uint32_t here (on LP64
 *     "unsigned long" is 64 bits and would change the generator);
 *   - the function-local "static" state variables are hoisted to file scope (same initial
 *     values), so that a driver can seed them; at file scope the three generators' variables
 *     would collide, so xor64's x is named x64 and xor128's y is named y128. Otherwise the
 *     statements of each function are the paper's.
 */
#include <stdint.h>

/* xor(): the 32-bit xorshift with shifts 13, 17, 5. */
static uint32_t y = 2463534242U;
uint32_t xor(void) {
    y ^= (y << 13); y ^= (y >> 17); return (y ^= (y << 5));
}

/* xor64(): the 64-bit xorshift with shifts 13, 7, 17. */
static uint64_t x64 = 88172645463325252LL;
uint64_t xor64(void) {
    x64 ^= (x64 << 13); x64 ^= (x64 >> 7); return (x64 ^= (x64 << 17));
}

/* xor128(): the 128-bit xorshift (four 32-bit words) with shifts 11, 8, 19. */
static uint32_t x = 123456789, y128 = 362436069, z = 521288629, w = 88675123;
uint32_t xor128(void) {
    uint32_t t;
    t = (x ^ (x << 11)); x = y128; y128 = z; z = w; return (w = (w ^ (w >> 19)) ^ (t ^ (t >> 8)));
}
