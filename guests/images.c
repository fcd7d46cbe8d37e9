/* SPDX-License-Identifier: MIT */
#include "guest-images.h"

#include <stdint.h>
#include <string.h>

/* Defined in embed.S, which lays the table out by hand. */
extern const struct gm_guest_image gm_guest_image_table[];
extern const uint64_t gm_guest_image_count;

_Static_assert(sizeof(void *) == 8 && sizeof(size_t) == 8,
	       "embed.S assumes an LP64 target");
_Static_assert(sizeof(struct gm_guest_image) == 32, "embed.S: 32-byte entries");
_Static_assert(offsetof(struct gm_guest_image, name) == 0, "embed.S layout");
_Static_assert(offsetof(struct gm_guest_image, start) == 8, "embed.S layout");
_Static_assert(offsetof(struct gm_guest_image, size) == 16, "embed.S layout");
_Static_assert(offsetof(struct gm_guest_image, summary) == 24, "embed.S layout");

const struct gm_guest_image *gm_guest_images(size_t *count)
{
	if (count)
		*count = (size_t)gm_guest_image_count;
	return gm_guest_image_table;
}

const struct gm_guest_image *gm_guest_image_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < gm_guest_image_count; i++)
		if (strcmp(gm_guest_image_table[i].name, name) == 0)
			return &gm_guest_image_table[i];
	return NULL;
}
