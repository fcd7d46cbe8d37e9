// SPDX-License-Identifier: MIT
/*
 * A guest that keeps dirtying memory, for test/cli/migrate.c: each vCPU
 * fills its slice of free RAM with a pattern of each word's address, then
 * rewrites a hot set (the first HOT_KIB KiB of its slice) ROUNDS times,
 * the round's number mixed in, and at the end checks every word of its
 * slice.  --guest-arg ROUNDS HOT_KIB.  Reports GM_REPORT_MISMATCHES and
 * GM_REPORT_CHECKS; a vCPU with a mismatch exits 1.  Free RAM is used
 * through the alias its first state asks for (--private or not).
 */
#include "guest-arg.h"

#define PAGE	0x1000ULL
#define MUL	0x9E3779B97F4A7C15ULL
#define XOR	0x5bd1e9955bd1e995ULL

static uint64_t pattern(uint64_t addr, uint64_t round)
{
	return (addr * MUL) ^ XOR ^ round;
}

int guest_main(unsigned int vcpu, const struct gm_guest_info *info)
{
	uint64_t rounds = guest_arg_number(info, 0, 100);
	uint64_t hot = guest_arg_number(info, 1, 1024) * 1024;
	uint64_t slice = info->free_size / info->nr_vcpus & ~(PAGE - 1);
	uint64_t base = info->free_base + vcpu * slice, bad = 0;
	volatile uint64_t *w = (info->flags & GM_GUEST_F_PRIVATE) ?
			       (volatile uint64_t *)(uintptr_t)base :
			       (volatile uint64_t *)gm_shared_ptr((void *)(uintptr_t)base);
	uint64_t words = slice / 8, hot_words = (hot < slice ? hot : slice) / 8;

	for (uint64_t i = 0; i < words; i++)
		w[i] = pattern(base + i * 8, 0);
	for (uint64_t r = 1; r <= rounds; r++)
		for (uint64_t i = 0; i < hot_words; i++)
			w[i] = pattern(base + i * 8, r);
	for (uint64_t i = 0; i < words; i++)
		bad += w[i] != pattern(base + i * 8, i < hot_words ? rounds : 0);
	gm_report(GM_REPORT_MISMATCHES, bad);
	gm_report(GM_REPORT_CHECKS, words);
	return bad ? 1 : 0;
}
