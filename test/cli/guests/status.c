// SPDX-License-Identifier: MIT
/*
 * A guest for test/cli/guest_status.c: how a kit program's exit status,
 * reports and faults reach the summary.  --guest-arg values:
 *   (none)           every vCPU returns 0
 *   VCPU STATUS [N]  vCPU VCPU returns STATUS, the others 0; with N, vCPU 0
 *                    also reports N as GM_REPORT_MISMATCHES
 *   fault            vCPU 0 reads free RAM through the other alias than its
 *                    state asks for: a memory fault
 */
#include <guestmem/guest/guest.h>

static uint64_t number(const char *s)
{
	uint64_t v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

int guest_main(unsigned int vcpu, const struct gm_guest_info *info)
{
	const volatile uint64_t *page = (const volatile uint64_t *)(uintptr_t)info->free_base;

	if (info->argc == 1 && info->argv[0][0] == 'f' && vcpu == 0 && info->free_size) {
		/* Private RAM is read through the shared alias, shared RAM through the plain one. */
		if (!(info->flags & GM_GUEST_F_PRIVATE))
			return (int)*page;
		return (int)*(const volatile uint64_t *)gm_shared_ptr(page);
	}
	if (info->argc >= 3 && vcpu == 0)
		gm_report(GM_REPORT_MISMATCHES, number(info->argv[2]));
	if (info->argc >= 2 && vcpu == number(info->argv[0]))
		return (int)number(info->argv[1]);
	return 0;
}
