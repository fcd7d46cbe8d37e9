/* SPDX-License-Identifier: MIT */
/*
 * guestmem bench --kernel: Linux booted by `run --kernel` (run-linux.c)
 * with guest-only RAM, against the same boot with its RAM the kernel's own
 * memfd as the memslot (--shared): the time to the init's ready line, and
 * to the init's exit.  The two alternate round by round, so that a drift
 * of the host hits both.  There is no third way: guestmem's shared pages of
 * a private-capable slot are reached through the shared alias, which an
 * unmodified kernel does not know.
 *
 * Inside the KVM lab (GUESTMEM_LAB set) these are figures of a nested
 * guest on an emulated CPU: they compare the two paths, and time nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "runner.h"

#define LINUX_MEM	(256ULL << 20)
/* idle=poll: see test/cli/linux_run.c (a nested vCPU missing its wake-up). */
#define CMDLINE		"console=ttyS0 reboot=k panic=-1 quiet idle=poll gm.touch_mb=64"
#define TIMEOUT		300.0

static int boot(struct bench *b, bool private, double *ready, double *run,
		struct gm_vm_stats *stats)
{
	struct gm_run_config cfg = {
		.engine = b->o.engine, .store = GM_RUN_SHMEM, .mem = LINUX_MEM, .vcpus = 1,
		.kernel = b->o.kernel, .initrd = b->o.initrd, .cmdline = CMDLINE,
		.ready_marker = "guestmem-init: ready", .private = private, .timeout = TIMEOUT,
	};
	struct gm_run_result r;
	int ret = gm_run(&cfg, &r);

	if (ret)
		return bench_fail(b, ret, "linux boot: %s", r.message);
	if (!r.pass || r.ready_seconds < 0)
		return bench_fail(b, -EIO, "linux boot (%s RAM) did not reach the ready line and "
				  "pass: %s", private ? "private" : "shared", r.message);
	b->engine = r.engine;
	*ready = r.ready_seconds;
	*run = r.guest_seconds;
	if (stats)
		*stats = r.stats;
	return 0;
}

static const struct bench_row linux_rows[] = {
	BENCH_ROW("linux_ready", "Linux boot to the init's ready line", "s",
		  "kernel memfd memslot (shared RAM)", false),
	BENCH_ROW("linux_run", "Linux boot, init's 64 MiB touch and exit", "s",
		  "kernel memfd memslot (shared RAM)", false),
};

int bench_linux(struct bench *b)
{
	double ready[2][BENCH_MAX_ROUNDS], run[2][BENCH_MAX_ROUNDS];
	int rounds = b->o.quick ? 1 : 3;
	int ret;

	for (int i = 0; i < rounds; i++) {
		ret = boot(b, true, &ready[0][i], &run[0][i], i ? NULL : &b->linux_stats) ?:
		      boot(b, false, &ready[1][i], &run[1][i], NULL);
		if (ret)
			return ret;
	}
	return bench_add(b, &linux_rows[0], LINUX_MEM, ready[0], ready[1], rounds) ?:
	       bench_add(b, &linux_rows[1], LINUX_MEM, run[0], run[1], rounds);
}
