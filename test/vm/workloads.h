/* SPDX-License-Identifier: MIT */
/*
 * The workload matrix shared by workloads.c (emu) and workloads_kvm.c (kvm):
 * one gm_run per (workload, store, vCPUs, private) case.  What this host
 * should refuse is worked out from the host's facts (huge pages, KVM caps),
 * and a refused case must be refused with that errno by gm_run_check and by
 * gm_run alike, never skipped silently.
 */
#ifndef GM_TEST_VM_WORKLOADS_H
#define GM_TEST_VM_WORKLOADS_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guestmem.h>

#include "../common.h"
#include "runner.h"
#include "kvm-caps.h"

#define MiB		(1ULL << 20)
#define SZ_2M		(2 * MiB)

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
static int wl_expected_check(const struct gm_run_config *cfg, const struct gm_kvm_caps *caps)
{
	switch (cfg->store) {
	case GM_RUN_HUGETLB:
		if (wl_is(cfg, "convert") || (cfg->mem / cfg->vcpus) % SZ_2M)
			return -EINVAL;
		return 0;
	case GM_RUN_KVM:
		if (!caps->guest_memfd)
			return -ENODEV;
		if (wl_needs_private(cfg) && !caps->memory_attributes)
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
static void wl_run_case(const struct gm_run_config *cfg, const struct gm_kvm_caps *caps)
{
	struct gm_run_result r;
	char name[128], why[256] = "";
	int want = wl_expected_check(cfg, caps), check, ret;

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

#endif
