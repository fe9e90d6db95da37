/* SFC64 ("small fast counting", 64-bit), by Chris Doty-Humphrey, released to the public domain
 * in PractRand (http://pracrand.sourceforge.net/).
 *
 * Transcribed from PractRand 0.94, src/RNGs/sfc.cpp: PractRand::RNGs::Raw::sfc64::raw64() and
 * sfc64::seed(Uint64 s). The C++ class members a, b, c, counter become the fields of a struct
 * passed by pointer; the statements are the same. numpy.random.SFC64 uses the same raw64() step
 * (numpy seeds a, b, c from a SeedSequence instead; that seeding is not this one).
 */
#include <stdint.h>

typedef uint64_t Uint64;

typedef struct sfc64 { Uint64 a, b, c, counter; } sfc64;

Uint64 sfc64_raw64(sfc64 *r) {
	enum {BARREL_SHIFT = 24, RSHIFT = 11, LSHIFT = 3};//good sets include {24,11,3},{25,12,3},{},{} ; older versions used {25,12,3}, which is decent
	Uint64 tmp = r->a + r->b + r->counter++;
	r->a = r->b ^ (r->b >> RSHIFT);
	r->b = r->c + (r->c << LSHIFT);
	r->c = ((r->c << BARREL_SHIFT) | (r->c >> (64-BARREL_SHIFT))) + tmp;
	return tmp;
}

void sfc64_seed(sfc64 *r, Uint64 s) {
	r->a = r->b = r->c = s;
	r->counter = 1;
	for (int i = 0; i < 12; i++) sfc64_raw64(r);//12
}
