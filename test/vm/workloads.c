// SPDX-License-Identifier: MIT
/*
 * Every guest workload through gm_run, as `guestmem run` does it, on the
 * engine the argument names: one run per (workload, store, vCPUs, private)
 * case.  Each run must pass, leave no frame behind and show the counters
 * its workload implies.  What this host should refuse is worked out from
 * the host's facts (huge pages, KVM's caps from gm_host_caps_get()), and a
 * refused case must be refused with that errno by gm_run_check and by gm_run
 * alike, never skipped silently: hugetlb + convert, hugetlb slices that are
 * not 2 MiB multiples, private memory in KVM's guest_memfd where KVM has no
 * memory attributes.
 *
 * - emu: memtest, touch, leakcheck and convert, with 1 and 2 vCPUs, RAM
 *   starting shared and private, on each store (8 MiB).
 * - kvm (real /dev/kvm): the same and retouch on shmem at 32 MiB, and
 *   fewer, smaller cases on the other stores.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guestmem.h>
#include <guestmem/host.h>

#include "../common.h"
#include "array.h"
#include "runner.h"

#define MiB		(1ULL << 20)
#define SZ_2M		(2 * MiB)

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;
static struct gm_host_caps host;	/* what this host offers */

static const char *const store_names[] = { "shmem", "hugetlb", "kvm" };
static const char *const engine_names[] = { "auto", "kvm", "emu" };

static bool wl_is(const struct gm_run_config *cfg, const char *name)
{
	return !strcmp(cfg->workload, name);
}

static bool wl_needs_private(const struct gm_run_config *cfg)
{
	return cfg->private || wl_is(cfg, "leakcheck") || wl_is(cfg, "convert");
}

/*
 * What gm_run_check must say about @cfg here, given that the case's
 * arguments are valid and, for hugetlb, that enough huge pages are free.
 */
static int wl_expected_check(const struct gm_run_config *cfg, const struct gm_host_caps *caps)
{
	switch (cfg->store) {
	case GM_RUN_HUGETLB:
		if (wl_is(cfg, "convert") || (cfg->mem / cfg->vcpus) % SZ_2M)
			return -EINVAL;
		return 0;
	case GM_RUN_KVM:
		if (!caps->store_kvm)
			return -ENODEV;
		if (wl_needs_private(cfg) && !caps->store_kvm_private)
			return -ENODEV;
		return 0;
	default:
		return 0;
	}
}

static void wl_name(const struct gm_run_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s/%uvcpu/%s/%" PRIu64 "M", engine_names[cfg->engine],
		 cfg->workload, store_names[cfg->store], cfg->vcpus,
		 cfg->private ? "private" : "shared", cfg->mem >> 20);
}

/* The stats a passing run of @cfg must show. */
static void wl_check_stats(const struct gm_run_config *cfg, const struct gm_run_result *r,
			   const char *name)
{
	const struct gm_vm_stats *s = &r->stats;
	uint64_t pages = cfg->mem >> GM_PAGE_SHIFT;
	uint64_t faults = s->faults[GM_LEVEL_4K] + s->faults[GM_LEVEL_2M] + s->faults[GM_LEVEL_1G];

	if (s->report[GM_REPORT_MISMATCHES] || s->report[GM_REPORT_NONZERO])
		fail_msg("%s: %" PRIu64 " mismatches, %" PRIu64 " non-zero words", name,
			 s->report[GM_REPORT_MISMATCHES], s->report[GM_REPORT_NONZERO]);
	if (wl_is(cfg, "memtest") && s->report[GM_REPORT_CHECKS] != cfg->mem / 8)
		fail_msg("%s: memtest checked %" PRIu64 " words, not %" PRIu64, name,
			 s->report[GM_REPORT_CHECKS], cfg->mem / 8);
	if (wl_is(cfg, "touch") && s->report[GM_REPORT_CHECKS] != pages)
		fail_msg("%s: touch touched %" PRIu64 " pages, not %" PRIu64, name,
			 s->report[GM_REPORT_CHECKS], pages);
	if (wl_is(cfg, "leakcheck")) {
		if (s->report[GM_REPORT_CHECKS] != 3 * pages)
			fail_msg("%s: leakcheck made %" PRIu64 " checks, not %" PRIu64, name,
				 s->report[GM_REPORT_CHECKS], 3 * pages);
		if (!s->conversions || !s->invalidations)
			fail_msg("%s: leakcheck without conversions (%" PRIu64 ") or invalidations "
				 "(%" PRIu64 ")", name, s->conversions, s->invalidations);
	}
	if (wl_is(cfg, "convert") &&
	    (!s->report[GM_REPORT_CHECKS] || !s->conversions || !s->invalidations))
		fail_msg("%s: convert: %" PRIu64 " checks, %" PRIu64 " conversions, %" PRIu64
			 " invalidations", name, s->report[GM_REPORT_CHECKS], s->conversions,
			 s->invalidations);
	if (wl_is(cfg, "memtest") || wl_is(cfg, "touch")) {
		/* Private RAM is all mapped from frames; shared RAM never is. */
		uint64_t want = cfg->private ? pages : 0;

		if (s->frames_mapped_peak != want || (cfg->private && r->frames_peak <= 0))
			fail_msg("%s: %" PRIu64 " frames mapped at peak (want %" PRIu64 "), %" PRId64
				 " pool frames at peak", name, s->frames_mapped_peak, want,
				 r->frames_peak);
		if (s->conversions != (cfg->private ? 1 : 0))
			fail_msg("%s: %" PRIu64 " conversions", name, s->conversions);
	}
	/*
	 * A private-capable slot's pages enter its windows through the fault
	 * path on every engine; a shared-only one (the kvm store's) is a plain
	 * mapping that the kernel fills by itself, as KVM's own memslots are.
	 */
	if (cfg->store != GM_RUN_KVM && !faults)
		fail_msg("%s: no faults counted", name);
	if (cfg->store == GM_RUN_KVM && faults)
		fail_msg("%s: %" PRIu64 " faults on a shared-only slot", name, faults);
	if (cfg->store == GM_RUN_HUGETLB && s->faults[GM_LEVEL_4K])
		fail_msg("%s: %" PRIu64 " 4 KiB faults on 2 MiB pages", name, s->faults[GM_LEVEL_4K]);
}

/* Run one case: refused with the expected errno, or run and pass. */
static void wl_run_case(const struct gm_run_config *cfg)
{
	struct gm_run_result r;
	char name[128], why[256] = "";
	int want = wl_expected_check(cfg, &host), check, ret;

	wl_name(cfg, name, sizeof(name));
	check = gm_run_check(cfg, why, sizeof(why));
	if (check != want)
		fail_msg("%s: gm_run_check %d (%s), expected %d", name, check, why, want);
	ret = gm_run(cfg, &r);
	if (ret != want)
		fail_msg("%s: gm_run %d (%s), expected %d", name, ret, r.message, want);
	if (r.frames_end != 0)
		fail_msg("%s: %" PRId64 " frames in use after the run", name, r.frames_end);
	if (want) {
		printf("  %-44s refused (%d): %s\n", name, want, why);
		return;
	}
	if (!r.pass)
		fail_msg("%s: failed: %s", name, r.message);
	wl_check_stats(cfg, &r, name);
	printf("  %-44s pass %.3f s (faults 4k %" PRIu64 " 2m %" PRIu64 ", conv %" PRIu64
	       ", inval %" PRIu64 ", mmio %" PRIu64 ")\n", name, r.seconds,
	       r.stats.faults[GM_LEVEL_4K], r.stats.faults[GM_LEVEL_2M], r.stats.conversions,
	       r.stats.invalidations, r.stats.mmio_completions);
	gm_test_assert_no_frames();
}

static void run_one(enum gm_run_store store, const char *workload, uint64_t mem,
		    unsigned int vcpus, bool private)
{
	struct gm_run_config cfg = {
		.engine = engine_arg, .store = store, .mem = mem, .vcpus = vcpus,
		.workload = workload, .private = private,
	};

	wl_run_case(&cfg);
}

/* Each of @workloads on @store, with 1 and 2 vCPUs, RAM starting shared and private. */
static void run_matrix(enum gm_run_store store, const char *const *workloads, size_t nr,
		       uint64_t mem)
{
	for (size_t w = 0; w < nr; w++)
		for (unsigned int vcpus = 1; vcpus <= 2; vcpus++)
			for (int private = 0; private <= 1; private++)
				run_one(store, workloads[w], mem, vcpus, private);
	gm_test_assert_no_frames();
}

/* ---- emu ---- */

static const char *const emu_workloads[] = { "memtest", "touch", "leakcheck", "convert" };

/* 2 MiB of RAM on 2 vCPUs: 1 MiB per vCPU cannot be whole huge pages. */
static const struct gm_run_config emu_slices = {
	.engine = GM_ENGINE_EMU, .store = GM_RUN_HUGETLB, .mem = 2 * MiB, .vcpus = 2,
	.workload = "touch",
};

static void emu_shmem(void **state)
{
	run_matrix(GM_RUN_SHMEM, emu_workloads, GM_ARRAY_SIZE(emu_workloads), 8 * MiB);
}

/* The kvm store holds RAM in KVM's guest_memfd (owned by a helper KVM VM). */
static void emu_kvm_store(void **state)
{
	run_matrix(GM_RUN_KVM, emu_workloads, GM_ARRAY_SIZE(emu_workloads), 8 * MiB);
}

/* No huge pages: the store must be refused, not half run. */
static void emu_no_huge_pages(void)
{
	char text[256];

	if (gm_hugetlb_free_pages(GM_HUGE_2M_SHIFT) <= 0)
		assert_int_equal(gm_run_check(&emu_slices, text, sizeof(text)), -ENODEV);
}

/* 8 MiB of shared and 8 MiB of private RAM, in 2 MiB pages. */
static void emu_hugetlb(void **state)
{
	gm_test_huge_begin(8, false, emu_no_huge_pages);
	run_matrix(GM_RUN_HUGETLB, emu_workloads, GM_ARRAY_SIZE(emu_workloads), 8 * MiB);
	wl_run_case(&emu_slices);
	gm_test_huge_end();
	gm_test_assert_no_frames();
}

/* ---- kvm ---- */

static const char *const kvm_workloads[] = { "memtest", "touch", "leakcheck", "convert",
					     "retouch" };

static void kvm_shmem(void **state)
{
	run_matrix(GM_RUN_SHMEM, kvm_workloads, GM_ARRAY_SIZE(kvm_workloads), 32 * MiB);
}

/* KVM's own guest_memfd bound natively; private needs memory attributes. */
static void kvm_kvm_store(void **state)
{
	for (unsigned int vcpus = 1; vcpus <= 2; vcpus++)
		run_one(GM_RUN_KVM, "touch", 4 * MiB, vcpus, false);
	run_one(GM_RUN_KVM, "memtest", 4 * MiB, 1, false);
	run_one(GM_RUN_KVM, "touch", 4 * MiB, 1, true);
	run_one(GM_RUN_KVM, "leakcheck", 4 * MiB, 1, false);
	run_one(GM_RUN_KVM, "convert", 8 * MiB, 1, false);
	gm_test_assert_no_frames();
}

static void kvm_hugetlb(void **state)
{
	gm_test_huge_begin(4, false, NULL);
	for (int private = 0; private <= 1; private++) {
		run_one(GM_RUN_HUGETLB, "touch", 4 * MiB, 2, private);
		run_one(GM_RUN_HUGETLB, "memtest", 2 * MiB, 1, private);
	}
	run_one(GM_RUN_HUGETLB, "leakcheck", 2 * MiB, 1, true);
	run_one(GM_RUN_HUGETLB, "convert", 8 * MiB, 1, false);	/* refused: -EINVAL */
	gm_test_huge_end();
	gm_test_assert_no_frames();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest emu_tests[] = {
		cmocka_unit_test(emu_shmem),
		cmocka_unit_test_teardown(emu_hugetlb, gm_test_huge_teardown),
		cmocka_unit_test(emu_kvm_store),
	};
	const struct CMUnitTest kvm_tests[] = {
		cmocka_unit_test(kvm_shmem),
		cmocka_unit_test(kvm_kvm_store),
		cmocka_unit_test_teardown(kvm_hugetlb, gm_test_huge_teardown),
	};

	engine_arg = gm_test_engine(argc, argv);
	assert_int_equal(gm_host_caps_get(&host), 0);
	if (engine_arg == GM_ENGINE_KVM)
		return cmocka_run_group_tests(kvm_tests, NULL, NULL);
	return cmocka_run_group_tests(emu_tests, NULL, NULL);
}
