/* SPDX-License-Identifier: MIT */
/*
 * The secret that the Linux guest's init writes into its RAM, shared with
 * the host-side test so that both compute the same 64 bytes.  The bytes
 * are derived at run time from the seed so that they never appear
 * literally in the init binary or the initramfs: finding them in host
 * memory then means the guest's RAM leaked, not that the image was read.
 */
#ifndef GUESTMEM_LINUX_SECRET_H
#define GUESTMEM_LINUX_SECRET_H

#include <stdint.h>

#define GM_LINUX_SECRET_SIZE	64
#define GM_LINUX_SECRET_SALT	0x5ec7e75ec7e75ec7ULL

/* splitmix64 (Steele, Lea, Flood 2014): one output per call. */
static inline uint64_t gm_linux_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Eight splitmix64 outputs from seed ^ salt, each little-endian. */
static inline void gm_linux_secret(uint64_t seed, uint8_t out[GM_LINUX_SECRET_SIZE])
{
	uint64_t state = seed ^ GM_LINUX_SECRET_SALT;

	for (int i = 0; i < GM_LINUX_SECRET_SIZE / 8; i++) {
		uint64_t v = gm_linux_splitmix64(&state);

		for (int b = 0; b < 8; b++)
			out[i * 8 + b] = (uint8_t)(v >> (8 * b));
	}
}

#endif
