// SPDX-License-Identifier: MIT
/*
 * A private slot's host window stays a few host mappings where its frames
 * are contiguous, never one per page: a kvm guest touches all 8 MiB of
 * private RAM, and while the VM is alive the lines of /proc/self/maps inside
 * the window are counted.  A 4 KiB hole punched in the middle splits at most
 * one mapping.  Skips without /dev/kvm.
 */
#include <stdio.h>

#include "race.h"
#include "vm-internal.h"

#define WIN_SIZE	(8 * MiB)

/* Mappings in /proc/self/maps that overlap [start, end). */
static unsigned int count_mappings(uintptr_t start, uintptr_t end)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < end && start < hi)
			n++;
	}
	fclose(f);
	return n;
}

static void test_window_runs(void **state)
{
	uint64_t go = GM_MAILBOX_PUNCHED;
	struct gm_exit exits[1];
	struct gm_vm_stats s;
	struct vmtest t;
	uintptr_t win;
	unsigned int whole, holed;

	vmtest_create(&t, GM_ENGINE_KVM, WIN_SIZE, true);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, WIN_SIZE,
						     PRIVATE, 0), 0);
	/*
	 * One round of race_guest, read then write every page privately: the
	 * mailbox already says go, so it stops after its first round.
	 */
	vmtest_boot(&t, race_guest, sizeof(race_guest), 1, 0, 0);
	assert_int_equal(gm_vm_write_shared(t.vm, GM_GUEST_MAILBOX, &go, sizeof(go)), 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, exits), 0);
	assert_int_equal(exits[0].status, 0);
	gm_vm_get_stats(t.vm, &s);
	assert_int_equal(s.frames_mapped, WIN_SIZE / GM_PAGE_SIZE);

	win = (uintptr_t)t.vm->slots[1].private_win;
	assert_true(win != 0);
	whole = count_mappings(win, win + WIN_SIZE);
	printf("window %#lx: %u mappings for %llu pages (faults 4k %llu, 2m %llu)\n",
	       (unsigned long)win, whole, (unsigned long long)(WIN_SIZE / GM_PAGE_SIZE),
	       (unsigned long long)s.faults[GM_LEVEL_4K], (unsigned long long)s.faults[GM_LEVEL_2M]);
	/* At most one per 2 MiB run of frames. */
	assert_true(whole >= 1);
	assert_true(whole <= WIN_SIZE / (2 * MiB));

	/* A hole in the middle: the window loses that page, the rest stays whole. */
	assert_int_equal(gm_fallocate(t.private, PUNCH, 3 * MiB, GM_PAGE_SIZE), 0);
	assert_int_equal(gm_vm_check_stage2(t.vm), 0);
	holed = count_mappings(win, win + WIN_SIZE);
	printf("after a 4 KiB punch: %u mappings\n", holed);
	assert_true(holed <= whole + 2 + 2);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_runs),
	};

	vmtest_require(GM_ENGINE_KVM);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
