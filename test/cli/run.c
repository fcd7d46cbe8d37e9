// SPDX-License-Identifier: MIT
/*
 * `guestmem run` as a user runs it (GUESTMEM_BIN, set by test/meson.build):
 * a small emu run passes with a JSON summary; every bad option exits 2 with
 * exactly one line on stderr and nothing on stdout; --help exits 0.  The
 * host-dependent refusals (hugetlb without free huge pages, kvm without
 * /dev/kvm) are checked only where the host lacks them, and say so otherwise.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <guestmem/file.h>
#include <guestmem/vm.h>

#include "array.h"
#include "../common.h"
#include "cli-test.h"

static void expect_usage_error(const char *args)
{
	struct cli_result *r;

	r = cli_run("%s", args);
	if (r->status != 2 || cli_count_lines(r->err) != 1 || r->out[0])
		fail_msg("'guestmem %s': status %d, stdout '%s', stderr '%s'", args, r->status,
			 r->out, r->err);
	printf("  guestmem %-40s -> %s", args, r->err);
	free(r);
}

/* A guest runs to the end and passes, on the default (auto) engine and on emu. */
static void test_run_passes(void **state)
{
	struct cli_result *r;
	const char *why;

	r = cli_run("run --mem 2M --workload touch --json");
	if (r->status != 0 || !strstr(r->out, "\"result\": \"pass\""))
		fail_msg("auto: status %d, stdout '%s', stderr '%s'", r->status, r->out, r->err);
	if (!gm_engine_available(GM_ENGINE_EMU, &why)) {
		free(r);
		print_message("SKIP the emu run: %s\n", why);
		skip();
	}
	free(r);
	r = cli_run("run --engine emu --mem 8M --json");
	if (r->status != 0 || !strstr(r->out, "\"result\": \"pass\""))
		fail_msg("status %d, stdout '%s', stderr '%s'", r->status, r->out, r->err);
	assert_int_equal(cli_count_json_objects(r->out), 1);
	assert_non_null(strstr(r->out, "\"frames_in_use_end\": 0,"));
	free(r);
}

/*
 * --private --convert-on-fault: RAM starts shared and the guest's private
 * accesses fault; the runner converts each page on its first touch (one
 * memory-fault exit and one conversion per 4 KiB page) and the guest passes.
 */
static void test_convert_on_fault(void **state)
{
	struct cli_result *r;

	r = cli_run("run --mem 2M --workload touch --private --convert-on-fault --json");
	if (r->status != 0 || !strstr(r->out, "\"result\": \"pass\""))
		fail_msg("status %d, stdout '%s', stderr '%s'", r->status, r->out, r->err);
	assert_non_null(strstr(r->out, "\"conversions\": 512,"));
	assert_non_null(strstr(r->out, "\"memory_fault_exits\": 512,"));
	/* Without the flag the same guest needs no conversion but the first. */
	free(r);
	r = cli_run("run --mem 2M --workload touch --private --json");
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "\"conversions\": 1,"));
	assert_non_null(strstr(r->out, "\"memory_fault_exits\": 0,"));
	free(r);
}

static void test_help(void **state)
{
	struct cli_result *r;

	r = cli_run("run --help");
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "--mem"));
	assert_non_null(strstr(r->out, "memtest"));
	free(r);
}

static void test_bad_options(void **state)
{
	static const char *const cases[] = {
		"run --engine emu --mem 0",
		"run --engine emu --mem 3M",
		"run --engine emu --mem 1M",
		"run --engine emu --mem 100T",
		"run --engine emu --mem 100000G",
		"run --engine emu --mem x",
		"run --engine emu --mem",
		"run --engine emu --store bogus",
		"run --engine emu --workload bogus",
		"run --engine emu --vcpus 0",
		"run --engine emu --vcpus 17",
		"run --engine emu --vcpus 1x",
		"run --engine bogus",
		"run --engine emu --bogus",
		"run --engine emu extra",
		"run --engine emu --workload convert --mem 4M",
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++)
		expect_usage_error(cases[i]);
}

static void test_hugetlb_without_pages(void **state)
{
	int lock = gm_test_huge_lock();
	long nr = (long)gm_hugetlb_free_pages(GM_HUGE_2M_SHIFT);

	if (nr == 0)
		expect_usage_error("run --engine emu --store hugetlb --mem 2M");
	gm_test_huge_unlock(lock);
	if (nr != 0) {
		printf("SKIP: %ld huge pages are free here: cannot check the refusal\n", nr);
		skip();
	}
}

static void test_kvm_without_dev_kvm(void **state)
{
	const char *why;

	if (gm_test_have_kvm(&why)) {
		printf("SKIP: /dev/kvm works here: cannot check --engine kvm's refusal\n");
		skip();
	}
	expect_usage_error("run --engine kvm --mem 2M");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_passes),
		cmocka_unit_test(test_convert_on_fault),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_hugetlb_without_pages),
		cmocka_unit_test(test_kvm_without_dev_kvm),
	};

	gm_test_guestmem_bin();	/* skips (77) where there is no program */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
