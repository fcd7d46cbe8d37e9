// SPDX-License-Identifier: MIT
/*
 * A guest that keeps converting, for test/cli/migrate.c: each vCPU takes a
 * range of RANGE_KIB KiB at the start of its slice of free RAM (private at
 * entry) and, ROUNDS times: checks that the range reads zero through the
 * private alias and writes it; converts it to shared and checks zero
 * through the shared alias; converts it back to private.  Checks and
 * writes touch the first, middle and last word of each page (a whole-page
 * pass would make the emulator, not the conversions, the measure).  Every conversion
 * frees the side it leaves, so the range must read zero after each: a
 * page's old bytes showing through (on this VM, or on one it migrated to)
 * count as mismatches.  The conversions dirty the range at a steady rate,
 * so that pre-copy rounds stop shrinking and a migration ends with the
 * guest still running.  --guest-arg ROUNDS RANGE_KIB.  Reports
 * GM_REPORT_MISMATCHES and GM_REPORT_CHECKS (pages checked); a vCPU with a
 * mismatch exits 1, one whose conversion failed exits 2.
 */
#include "guest-arg.h"

#define PAGE	0x1000ULL

static const uint64_t probes[] = { 0, PAGE / 16, PAGE / 8 - 1 };	/* words of a page */

/* How many probed words of the pages of [w, w + bytes) are not zero. */
static uint64_t nonzero(volatile uint64_t *w, uint64_t bytes)
{
	uint64_t bad = 0;

	for (uint64_t page = 0; page < bytes / 8; page += PAGE / 8)
		for (unsigned int k = 0; k < 3; k++)
			bad += w[page + probes[k]] != 0;
	return bad;
}

static void fill(volatile uint64_t *w, uint64_t bytes, uint64_t value)
{
	for (uint64_t page = 0; page < bytes / 8; page += PAGE / 8)
		for (unsigned int k = 0; k < 3; k++)
			w[page + probes[k]] = value ^ (page + probes[k]);
}

int guest_main(unsigned int vcpu, const struct gm_guest_info *info)
{
	uint64_t rounds = guest_arg_number(info, 0, 100);
	uint64_t range = guest_arg_number(info, 1, 1024) * 1024;
	uint64_t slice = info->free_size / info->nr_vcpus & ~(PAGE - 1);
	uint64_t base = info->free_base + vcpu * slice, bad = 0, checks = 0;
	volatile uint64_t *priv = (volatile uint64_t *)(uintptr_t)base;
	volatile uint64_t *shared = gm_shared_ptr((void *)(uintptr_t)base);

	if (!(info->flags & GM_GUEST_F_PRIVATE))
		return 2;	/* it needs RAM that starts private */
	range = (range < slice ? range : slice) & ~(PAGE - 1);
	for (uint64_t r = 0; r < rounds; r++) {
		bad += nonzero(priv, range);
		fill(priv, range, base ^ ~r);
		if (gm_to_shared(priv, range))
			return 2;
		bad += nonzero(shared, range);
		if (gm_to_private(priv, range))
			return 2;
		checks += 2 * range / PAGE;
	}
	gm_report(GM_REPORT_MISMATCHES, bad);
	gm_report(GM_REPORT_CHECKS, checks);
	return bad ? 1 : 0;
}
