/* SPDX-License-Identifier: MIT */
/* What the test guests share: their --guest-arg numbers. */
#ifndef GM_TEST_CLI_GUESTS_GUEST_ARG_H
#define GM_TEST_CLI_GUESTS_GUEST_ARG_H

#include <guestmem/guest/guest.h>

/* Guest argument @i as a decimal number, or @fallback when there is none. */
static inline uint64_t guest_arg_number(const struct gm_guest_info *info, unsigned int i,
					uint64_t fallback)
{
	const char *s;
	uint64_t v = 0;

	if (info->argc <= i)
		return fallback;
	for (s = info->argv[i]; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

#endif
