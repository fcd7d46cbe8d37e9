/* SPDX-License-Identifier: MIT */
/*
 * What `guestmem run --guest FILE` tells a guest built with the kit: the
 * layout of guest RAM and the --guest-arg values.  Shared by the guest
 * (freestanding C) and the VMM, so it holds fixed-size fields only, apart
 * from argv, which the VMM fills with guest addresses.
 *
 * Every address here is a plain guest-physical address (bit 39 clear, a
 * *private* access in RAM); gm_shared_ptr() in guest.h gives the shared
 * alias of the same page.
 */
#ifndef GUESTMEM_GUEST_INFO_H
#define GUESTMEM_GUEST_INFO_H

#include <stdint.h>

/* "gmkinfo1": the VMM wrote this block for this version of the layout. */
#define GM_GUEST_INFO_MAGIC	0x316f666e696b6d67ULL

/*
 * The part of RAM the program occupies is rounded out to 2 MiB (the
 * hugetlb store converts whole 2 MiB pages) and kept shared.
 */
#define GM_GUEST_IMAGE_ALIGN	0x200000ULL

struct gm_guest_info {
	uint64_t magic;			/* GM_GUEST_INFO_MAGIC */
	uint64_t ram_base;		/* RAM: GM_GUEST_RAM_BASE */
	uint64_t ram_size;		/* --mem */
	uint64_t image_base;		/* the program's span of RAM (shared pages) */
	uint64_t image_size;		/* a multiple of GM_GUEST_IMAGE_ALIGN */
	uint64_t free_base;		/* RAM after the program's span, ... */
	uint64_t free_size;		/* ... to the end of RAM (may be 0) */
	uint64_t flags;			/* GM_GUEST_F_PRIVATE: free RAM starts private */
	uint32_t nr_vcpus;		/* --vcpus */
	uint32_t argc;			/* number of --guest-arg values */
	const char *const *argv;	/* the values, NUL-terminated, in shared memory */
};

#endif
