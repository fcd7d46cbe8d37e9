/* SPDX-License-Identifier: MIT */
/* The host's huge pages, as sysfs reports them. */
#include <errno.h>
#include <stdio.h>

#include "pmem/pmem.h"

static long read_sysfs_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int64_t gm_pmem_huge_free(unsigned int order)
{
	const char *path;
	long free_pages;

	if (order == GM_HUGE_2M_ORDER)
		path = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
	else if (order == GM_HUGE_1G_ORDER)
		path = "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages";
	else
		return -EINVAL;
	free_pages = read_sysfs_long(path);
	return free_pages < 0 ? -ENOENT : free_pages;
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
