// SPDX-License-Identifier: MIT
/* The host's huge-page pools, read from sysfs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "hugepages.h"

#define HUGEPAGES_DIR	"/sys/kernel/mm/hugepages/"

static int read_count(const char *size_dir, const char *name, uint64_t *val)
{
	char path[128];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), HUGEPAGES_DIR "%s/%s", size_dir, name);
	*val = 0;
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	if (fscanf(f, "%" SCNu64, val) != 1) {
		*val = 0;
		ret = -ENOENT;
	}
	fclose(f);
	return ret;
}

int gm_host_hugepages_read(unsigned int page_shift, uint64_t *total, uint64_t *free)
{
	const char *size_dir;
	uint64_t t, f;
	int ret;

	if (page_shift == GM_HUGE_2M_SHIFT)
		size_dir = "hugepages-2048kB";
	else if (page_shift == GM_HUGE_1G_SHIFT)
		size_dir = "hugepages-1048576kB";
	else
		return -EINVAL;
	ret = read_count(size_dir, "nr_hugepages", &t) ?: read_count(size_dir, "free_hugepages", &f);
	if (ret)
		t = f = 0;
	if (total)
		*total = t;
	if (free)
		*free = f;
	return ret;
}
