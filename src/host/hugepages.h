/* SPDX-License-Identifier: MIT */
/*
 * The host's huge-page pools, as sysfs reports them: the one reader of
 * /sys/kernel/mm/hugepages in the library.
 */
#ifndef GM_HOST_HUGEPAGES_H
#define GM_HOST_HUGEPAGES_H

#include <stdint.h>

#include <guestmem/file.h>

/*
 * gm_host_hugepages_read - the pool of huge pages of 2^@page_shift bytes
 * (GM_HUGE_2M_SHIFT or GM_HUGE_1G_SHIFT): how many are reserved
 * (nr_hugepages) in *@total and how many of those are free now in *@free.
 * Either pointer may be NULL.
 * Return: 0; -EINVAL for another @page_shift; -ENOENT where the kernel has
 * no pool of that size (both counts read 0).
 */
int gm_host_hugepages_read(unsigned int page_shift, uint64_t *total, uint64_t *free);

#endif
