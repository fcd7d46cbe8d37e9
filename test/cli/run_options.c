// SPDX-License-Identifier: MIT
/*
 * `guestmem run`'s option values, as issue 9 found them: a vCPU count too
 * large for an unsigned int is refused rather than wrapped, sizes are
 * decimal even with a leading zero, an option without its value says so,
 * and --guest's companions are checked before anything runs.
 */
#include "cli-test.h"

/* Exit 2, one line on stderr holding @want, nothing on stdout. */
static void expect_refusal(const char *args, const char *want)
{
	struct cli_result *r = cli_run("%s", args);

	if (r->status != 2 || cli_count_lines(r->err) != 1 || r->out[0] || !strstr(r->err, want))
		fail_msg("'guestmem %s': status %d, stdout '%s', stderr '%s' (wanted '%s')", args,
			 r->status, r->out, r->err, want);
	printf("  guestmem %-45s -> %s", args, r->err);
	free(r);
}

/* 2^32 + 1 once ran with 1 vCPU; counts past UINT_MAX and signs are no counts. */
static void test_vcpus_overflow(void **state)
{
	expect_refusal("run --vcpus 4294967297 --workload touch --mem 2M",
		       "bad value '4294967297' for --vcpus");
	expect_refusal("run --vcpus 18446744073709551617 --workload touch --mem 2M",
		       "bad value '18446744073709551617' for --vcpus");
	expect_refusal("run --vcpus -1 --workload touch --mem 2M", "bad value '-1' for --vcpus");
	expect_refusal("run --vcpus ' 2' --workload touch --mem 2M", "bad value ' 2' for --vcpus");
}

/* A leading zero is no octal prefix: "010M" is ten MiB (octal made it eight). */
static void test_mem_decimal(void **state)
{
	static const char *const ten[] = { "\"mem\": 10485760,", "\"result\": \"pass\"", NULL };
	static const char *const twelve[] = { "\"mem\": 12582912,", "\"result\": \"pass\"", NULL };
	struct cli_result *r = cli_run("run --mem 010M --workload touch --json");

	cli_expect(r, 0, ten);
	free(r);
	r = cli_run("run --mem 0012MiB --workload touch --json");
	cli_expect(r, 0, twelve);
	free(r);
	expect_refusal("run --mem 0x400000 --workload touch", "bad value '0x400000' for --mem");
}

/*
 * --guest-mem-limit: guest-only RAM past the cap ends the run (exit 1) with
 * the allocation's -ENOSPC; at the RAM's size it passes; a cap that is not
 * a multiple of 4K, or none, is refused.
 */
static void test_guest_mem_limit(void **state)
{
	static const char *const refused[] = { "No space left on device", NULL };
	static const char *const passed[] = { "result          pass", NULL };
	struct cli_result *r;

	r = cli_run("run --engine emu --private --mem 16M --workload touch --guest-mem-limit 4M");
	cli_expect(r, 1, refused);
	free(r);
	r = cli_run("run --engine emu --private --mem 16M --workload touch --guest-mem-limit 16M");
	cli_expect(r, 0, passed);
	free(r);
	expect_refusal("run --private --guest-mem-limit 3K", "bad value '3K' for --guest-mem-limit");
	expect_refusal("run --private --guest-mem-limit 0", "bad value '0' for --guest-mem-limit");
}

/* The last option without its value: named as missing, not as a bad option. */
static void test_missing_value(void **state)
{
	expect_refusal("run --mem", "'--mem' needs a value");
	expect_refusal("run --workload touch --vcpus", "'--vcpus' needs a value");
	expect_refusal("run --engine", "'--engine' needs a value");
	expect_refusal("run --guest", "'--guest' needs a value");
	expect_refusal("run --guest x.elf --guest-arg", "'--guest-arg' needs a value");
}

static void test_guest_options(void **state)
{
	expect_refusal("run --guest x.elf --workload touch",
		       "--guest and --workload exclude each other");
	expect_refusal("run --guest-arg 1", "--guest-arg needs --guest");
	expect_refusal("run --guest /nonexistent/guest.elf",
		       "/nonexistent/guest.elf: cannot open it: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpus_overflow),
		cmocka_unit_test(test_mem_decimal),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_guest_options),
		cmocka_unit_test(test_guest_mem_limit),
	};

	gm_test_guestmem_bin();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
