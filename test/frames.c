/* SPDX-License-Identifier: MIT */
/* Internal views of frames for tests (frames.h). */
#include <errno.h>

#include "frames.h"
#include "pmem.h"
#include "store.h"

int64_t gm_test_frames_in_use(unsigned int order)
{
	return gm_pmem_frames_in_use(order);
}

uint32_t gm_test_pins(gm_pfn_t pfn)
{
	return gm_pfn_pins(pfn);
}

gm_pfn_t gm_test_pfn_of(struct gm_file *file, uint64_t index)
{
	return gm_backing_pfn(file->backing, index);
}

int gm_test_frame_owner(gm_pfn_t pfn, struct gm_file *file, uint64_t *index)
{
	uint64_t i = pfn & (GM_PMEM_MAX_PAGES - 1);

	if (!file || !file->backing || gm_backing_pfn(file->backing, i) != pfn)
		return -EINVAL;
	if (!gm_backing_present(file->backing, i))
		return -ENOENT;
	*index = i;
	return 0;
}

uint64_t gm_test_max_file_bytes(void)
{
	return GM_PMEM_MAX_PAGES << GM_PAGE_SHIFT;
}
