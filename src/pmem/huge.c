/* SPDX-License-Identifier: MIT */
/* The host's huge pages, as sysfs reports them. */
#include <errno.h>

#include "hugepages.h"
#include "pmem.h"

int64_t gm_pmem_huge_free(unsigned int order)
{
	uint64_t free_pages;
	int ret;

	if (order != GM_HUGE_2M_ORDER && order != GM_HUGE_1G_ORDER)
		return -EINVAL;
	ret = gm_host_hugepages_read(GM_PAGE_SHIFT + order, NULL, &free_pages);
	return ret ? ret : (int64_t)free_pages;
}

int gm_pmem_huge_available(unsigned int order, const char **why)
{
	int64_t free_pages = gm_pmem_huge_free(order);
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (free_pages == -EINVAL)
		*why = "not a huge page size";
	else if (free_pages < 0)
		*why = "the host kernel has no huge pages of this size";
	else if (free_pages == 0)
		*why = "no free huge pages of this size (reserve some in /proc/sys/vm/nr_hugepages"
		       " or /sys/kernel/mm/hugepages/*/nr_hugepages)";
	return free_pages > 0;
}
