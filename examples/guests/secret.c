// SPDX-License-Identifier: MIT
/*
 * secret: private memory from C.  Each vCPU takes its own 2 MiB of free RAM
 * (2 MiB, so that the hugetlb store can convert it) and
 *   1. makes it private and writes a secret into every 4 KiB page;
 *   2. checks that it reads the secret back, and that the host, reading the
 *      shared file, does not see it;
 *   3. converts it to shared: through the shared alias every page reads
 *      zero, the secret is gone;
 *   4. writes a shared pattern, which the host does see;
 *   5. converts it back to private: every page reads zero again, neither
 *      the secret nor the shared pattern shows.
 * Each step's failures are reported (GM_REPORT_MISMATCHES: wrong data;
 * GM_REPORT_NONZERO: a page that should have read zero) and end the vCPU
 * with the step's number as its exit status.  Needs --mem of at least
 * 2 MiB for the program plus 2 MiB per vCPU.
 */
#include <guestmem/guest/guest.h>

#define CHUNK	0x200000ULL
#define PAGE	0x1000ULL
#define SECRET	0x5ec12e7c0ffee000ULL
#define PATTERN	0x5a5a0000a5a50000ULL

/* The first word of page @page of the chunk at @base, through the alias @base is in. */
static volatile uint64_t *word(uint64_t base, uint64_t page)
{
	return (volatile uint64_t *)(uintptr_t)(base + page * PAGE);
}

/*
 * Pages of the chunk at @base (either alias) whose first word is not
 * @expect_base + page (0 for @expect_base 0); with @host, as the host reads
 * them through the shared file.
 */
static uint64_t count_unlike(uint64_t base, uint64_t expect_base, bool host)
{
	uint64_t bad = 0;

	for (uint64_t p = 0; p < CHUNK / PAGE; p++) {
		uint64_t expect = expect_base ? expect_base + p : 0;
		uint64_t got = host ? gm_host_read64(word(base, p)) : *word(base, p);

		bad += got != expect;
	}
	return bad;
}

static void fill(uint64_t base, uint64_t value)
{
	for (uint64_t p = 0; p < CHUNK / PAGE; p++)
		*word(base, p) = value + p;
}

/* Report @bad under @key and say which step it was; returns the exit status. */
static int verdict(unsigned int vcpu, int step, const char *what, unsigned int key, uint64_t bad)
{
	gm_report(GM_REPORT_CHECKS, CHUNK / PAGE);
	if (!bad)
		return 0;
	gm_report(key, bad);
	gm_printf("vCPU %u, step %d: %lu pages %s\n", vcpu, step, (unsigned long)bad, what);
	return step;
}

int guest_main(unsigned int vcpu, const struct gm_guest_info *info)
{
	uint64_t priv = info->free_base + vcpu * CHUNK;
	uint64_t shared = (uint64_t)(uintptr_t)gm_shared_ptr((void *)(uintptr_t)priv);
	int status;

	if (info->free_size < (vcpu + 1) * CHUNK) {
		gm_printf("vCPU %u: needs 2 MiB of free RAM per vCPU; give more --mem\n", vcpu);
		return 10;
	}
	if (gm_to_private((void *)(uintptr_t)priv, CHUNK))
		return 11;
	fill(priv, SECRET);
	status = verdict(vcpu, 2, "lost the secret", GM_REPORT_MISMATCHES,
			 count_unlike(priv, SECRET, false)) ?:
		 verdict(vcpu, 2, "showed the secret to the host", GM_REPORT_MISMATCHES,
			 CHUNK / PAGE - count_unlike(priv, SECRET, true));
	if (status)
		return status;
	if (gm_to_shared((void *)(uintptr_t)priv, CHUNK))
		return 12;
	status = verdict(vcpu, 3, "were not zero once shared", GM_REPORT_NONZERO,
			 count_unlike(shared, 0, false));
	if (status)
		return status;
	fill(shared, PATTERN);
	status = verdict(vcpu, 4, "of the shared pattern did not reach the host",
			 GM_REPORT_MISMATCHES, count_unlike(shared, PATTERN, true));
	if (status)
		return status;
	if (gm_to_private((void *)(uintptr_t)priv, CHUNK))
		return 13;
	status = verdict(vcpu, 5, "were not zero once private again", GM_REPORT_NONZERO,
			 count_unlike(priv, 0, false));
	if (!status)
		gm_printf("vCPU %u: the secret stayed private and left nothing behind\n", vcpu);
	return status;
}
