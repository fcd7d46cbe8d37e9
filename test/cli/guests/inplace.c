// SPDX-License-Identifier: MIT
/*
 * A guest for RAM in place (`guestmem run --in-place`, test/cli/in_place.c):
 * each vCPU takes one 4 KiB page in every STRIDE_KIB KiB of its slice of
 * free RAM (private at entry) and, ROUNDS times, for each such page:
 *
 *   writes a pattern through the private alias; converts it to shared
 *   keeping the bytes, and finds the pattern through the shared alias;
 *   writes another through the shared alias; converts it back to private
 *   keeping the bytes, and finds that one; converts it to shared zeroing,
 *   and finds zero; converts it back to private zeroing, and finds zero.
 *
 * The page after each converted one is never converted: it holds a pattern
 * written at the start, checked at the end, so a conversion that spilled
 * onto its neighbour (a huge page freed or zeroed whole) shows.  Checks
 * touch the first, middle and last word of a page.  --guest-arg ROUNDS
 * STRIDE_KIB (defaults 4 and 2048).  Reports GM_REPORT_MISMATCHES and
 * GM_REPORT_CHECKS (words checked); a vCPU with a mismatch exits 1, one
 * whose conversion failed exits 2 (its errno in GM_REPORT_VALUE), one that
 * was not given private RAM in place exits 3.
 */
#include "guest-arg.h"

#define PAGE	0x1000ULL

static const uint64_t probes[] = { 0, PAGE / 16, PAGE / 8 - 1 };	/* words of a page */

static void fill(volatile uint64_t *w, uint64_t value)
{
	for (unsigned int k = 0; k < 3; k++)
		w[probes[k]] = value ^ probes[k];
}

/* Words of the page at @w that do not hold @value's pattern (0: zero). */
static uint64_t wrong(volatile uint64_t *w, uint64_t value)
{
	uint64_t bad = 0;

	for (unsigned int k = 0; k < 3; k++)
		bad += w[probes[k]] != (value ? value ^ probes[k] : 0);
	return bad;
}

/* A conversion failed with @err: say which in GM_REPORT_VALUE (its errno), then -1. */
static int64_t failed(long err)
{
	gm_report(GM_REPORT_VALUE, (uint64_t)-err);
	return -1;
}

/* One round trip of the page at @base, through both policies; -1: a conversion failed. */
static int64_t round_trip(uint64_t base, uint64_t tag)
{
	volatile uint64_t *priv = (volatile uint64_t *)(uintptr_t)base;
	volatile uint64_t *shared = gm_shared_ptr((void *)(uintptr_t)base);
	uint64_t bad = 0;
	long err;

	fill(priv, tag);
	if ((err = gm_convert_keep(priv, PAGE, 0)))
		return failed(err);
	bad += wrong(shared, tag);
	fill(shared, ~tag);
	if ((err = gm_convert_keep(priv, PAGE, 1)))
		return failed(err);
	bad += wrong(priv, ~tag);
	if ((err = gm_to_shared(priv, PAGE)))
		return failed(err);
	bad += wrong(shared, 0);
	if ((err = gm_to_private(priv, PAGE)))
		return failed(err);
	bad += wrong(priv, 0);
	return (int64_t)bad;
}

int guest_main(unsigned int vcpu, const struct gm_guest_info *info)
{
	uint64_t rounds = guest_arg_number(info, 0, 4);
	uint64_t stride = guest_arg_number(info, 1, 2048) * 1024;
	uint64_t slice = info->free_size / info->nr_vcpus & ~(PAGE - 1);
	uint64_t base = info->free_base + vcpu * slice, bad = 0, checks = 0;
	int64_t ret;

	if (!(info->flags & GM_GUEST_F_PRIVATE) || !(info->flags & GM_GUEST_F_IN_PLACE) ||
	    stride < 2 * PAGE || stride & (PAGE - 1))
		return 3;
	for (uint64_t at = base; at + 2 * PAGE <= base + slice; at += stride)
		fill((volatile uint64_t *)(uintptr_t)(at + PAGE), at);
	for (uint64_t r = 0; r < rounds; r++) {
		for (uint64_t at = base; at + 2 * PAGE <= base + slice; at += stride) {
			ret = round_trip(at, at ^ (r << 48) ^ 0x5a5a5a5a5a5aULL);
			if (ret < 0)
				return 2;
			bad += (uint64_t)ret;
			checks += 12;
		}
	}
	for (uint64_t at = base; at + 2 * PAGE <= base + slice; at += stride) {
		bad += wrong((volatile uint64_t *)(uintptr_t)(at + PAGE), at);
		checks += 3;
	}
	gm_report(GM_REPORT_MISMATCHES, bad);
	gm_report(GM_REPORT_CHECKS, checks);
	return bad ? 1 : 0;
}
