// SPDX-License-Identifier: MIT
/* Debug builds' check of the lock order in lock-order.h. */
#ifndef NDEBUG
#include <assert.h>
#include <stdio.h>

#include "lock-order.h"

static const char *const class_names[GM_LOCK_NR_CLASSES] = {
	[GM_LOCK_MEMSLOT] = "memslot_lock", [GM_LOCK_CONVERT] = "convert_lock",
	[GM_LOCK_SLOTS] = "slots_lock", [GM_LOCK_FILE] = "file->lock",
	[GM_LOCK_BIND] = "bind_lock", [GM_LOCK_MMU] = "mmu_lock", [GM_LOCK_ID] = "id_lock",
};

_Thread_local struct gm_lock_held gm_lock_held __attribute__((tls_model("initial-exec")));

void gm_lock_order_violated(enum gm_lock_class class)
{
	for (int c = class; c < GM_LOCK_NR_CLASSES; c++)
		if (gm_lock_held.count[c])
			fprintf(stderr, "guestmem: lock order: %s taken while holding %s\n",
				class_names[class], class_names[c]);
	assert(!"lock order violated (see src/common/lock-order.h)");
}

void gm_lock_not_held(enum gm_lock_class a, enum gm_lock_class b)
{
	if (a == b)
		fprintf(stderr, "guestmem: %s is not held where it must be\n", class_names[a]);
	else
		fprintf(stderr, "guestmem: neither %s nor %s is held where one must be\n",
			class_names[a], class_names[b]);
	assert(!"a lock the caller must hold is not held (see src/common/lock-order.h)");
}
#endif
