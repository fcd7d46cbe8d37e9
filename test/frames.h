/* SPDX-License-Identifier: MIT */
/*
 * The library's internal view of frames, for tests that must look at them.
 * Nothing here is public: the shared library exports none of it.
 */
#ifndef GM_TEST_FRAMES_H
#define GM_TEST_FRAMES_H

#include <stdint.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

/* 4 KiB pages held by guest-only files whose folios have this order (0, 9, 18). */
int64_t gm_test_frames_in_use(unsigned int order);

/* Pins held now on the folio of @pfn (0 for a pfn that names nothing). */
uint32_t gm_test_pins(gm_pfn_t pfn);

/*
 * Whose page is @pfn?  Return: 0 with the page index in *@index when @file
 * holds it now, -ENOENT when it names a page of @file that is not held
 * (freed), -EINVAL when it names another file's page or nothing.
 */
int gm_test_frame_owner(gm_pfn_t pfn, struct gm_file *file, uint64_t *index);

/* The pfn of 4 KiB page @index of guest-only @file, held or not. */
gm_pfn_t gm_test_pfn_of(struct gm_file *file, uint64_t index);

/* The most bytes a guest-only file can address (-EFBIG past it). */
uint64_t gm_test_max_file_bytes(void);

#endif
