/* SPDX-License-Identifier: MIT */
/*
 * The guest programs built into guestmem: flat x86-64 binaries to be copied
 * to GM_GUEST_CODE_BASE (guest-abi.h) and entered there in long mode.
 */
#ifndef GUESTMEM_GUEST_IMAGES_H
#define GUESTMEM_GUEST_IMAGES_H

#include <stddef.h>

struct gm_guest_image {
	const char *name;		/* "memtest", "touch", "leakcheck", "convert" */
	const unsigned char *start;	/* the flat binary */
	size_t size;			/* its length in bytes, < GM_GUEST_CODE_MAX */
	const char *summary;		/* one line, for --help and listings */
};

/* The image called name; NULL if there is none (or name is NULL). */
const struct gm_guest_image *gm_guest_image_find(const char *name);

/* All images; *count (if count is not NULL) gets their number. */
const struct gm_guest_image *gm_guest_images(size_t *count);

#endif
