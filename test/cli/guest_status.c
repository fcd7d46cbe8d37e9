// SPDX-License-Identifier: MIT
/*
 * What a kit program's vCPUs end with reaches `guestmem run`'s summary
 * (test/cli/guests/status.c, on the default engine): the exit status of
 * the vCPU that failed and which one, reports that fail the run, a memory
 * fault (no exit status at all), and exit status 1 for each.
 */
#include "array.h"
#include "cli-test.h"
#include "guest-elfs.h"

struct status_case {
	const char *args;	/* after `run --json --guest FILE` */
	int status;		/* guestmem's */
	const char *want[4];	/* in stdout */
};

static void test_status(void **state)
{
	static const struct status_case cases[] = {
		{ "", 0, { "\"exit_status\": 0,", "\"result\": \"pass\"" } },
		{ "--guest-arg 0 --guest-arg 3", 1,
		  { "\"exit_status\": 3,", "\"message\": \"vCPU 0 exited with status 3\"" } },
		{ "--vcpus 3 --guest-arg 2 --guest-arg 200", 1,
		  { "\"exit_status\": 200,", "\"message\": \"vCPU 2 exited with status 200\"" } },
		{ "--vcpus 2 --guest-arg 0 --guest-arg 0 --guest-arg 7", 1,
		  { "\"mismatches\": 7,", "\"exit_status\": 0,", "\"result\": \"fail\"",
		    "saw 7 mismatched" } },
		{ "--mem 4M --guest-arg fault", 1,
		  { "\"exit_status\": null,", "vCPU 0: memory fault at gpa 0x" } },
		{ "--mem 4M --private --guest-arg fault", 1,
		  { "\"exit_status\": null,", "vCPU 0: memory fault at gpa 0x" } },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		const struct status_case *c = &cases[i];
		const char *want[5] = { 0 };
		struct cli_result *r;

		memcpy(want, c->want, sizeof(c->want));
		r = cli_run("run --json %s --guest '%s'", c->args, GM_GUEST_ELF_STATUS);
		printf("  %-50s -> %d\n", c->args, r->status);
		cli_expect(r, c->status, want);
		assert_non_null(strstr(r->out, "\"frames_in_use_end\": 0,"));
		free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
	};

	gm_test_guestmem_bin();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
