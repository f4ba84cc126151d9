/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_FUZZ_RNG_H
#define SHOAL_FUZZ_RNG_H

/*
 * libsodium's randomness from a generator (splitmix64) that a target
 * seeds again for every input, so that the keys and nonces it makes are
 * the same each time and a crash input replays exactly.  For the targets
 * that run handshakes (channel, mclient): fuzz_rng_install() before
 * sodium_init(), fuzz_rng_seed() at the start of every input.
 */
#include <stdint.h>

#include <sodium.h>

static uint64_t fuzz_rng_state;

static inline void fuzz_rng_seed(uint64_t seed)
{
	fuzz_rng_state = seed;
}

static inline uint64_t fuzz_rng_next(void)
{
	uint64_t z = (fuzz_rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline const char *fuzz_rng_name(void)
{
	return "fuzz-splitmix64";
}

static inline uint32_t fuzz_rng_random(void)
{
	return (uint32_t)fuzz_rng_next();
}

static inline void fuzz_rng_buf(void *const buf, const size_t size)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)fuzz_rng_next();
}

/* 0, or -1 if libsodium refuses it (after sodium_init()). */
static inline int fuzz_rng_install(void)
{
	static randombytes_implementation impl = {
		.implementation_name = fuzz_rng_name,
		.random = fuzz_rng_random,
		.buf = fuzz_rng_buf,
	};

	return randombytes_set_implementation(&impl);
}

#endif
