// SPDX-License-Identifier: MIT
/*
 * examples/guests/hello.c, built by test/cli/meson.build, run with
 * `guestmem run --guest` on the engine named by the first argument ("emu"
 * or "kvm").  Exits 77 with the reason where the host has no such engine.
 */
#include <inttypes.h>

#include "cli-test.h"
#include "guest-elfs.h"

static const char *engine;

/*
 * hello prints from every vCPU, vCPU 0 lists the --guest-arg values (spaces
 * kept), each vCPU reports 1, and the run passes with exit status 0 in the
 * text summary and in JSON, shared and private, with nothing left in use.
 */
static void test_hello(void **state)
{
	static const char *const text[] = {
		"[vcpu 0] hello from vCPU 0 of 1: 4 MiB of RAM, 2 MiB free at 0x40200000\n",
		"[vcpu 0] argument 0: world\n", "[vcpu 0] argument 1: two words\n",
		"value 1\n", "exit status     0\n", "result          pass\n", NULL,
	};
	static const char *const json[] = {
		"\"vcpus\": 3", "\"guest\": true", "\"private\": true", "\"value\": 3\n",
		"\"exit_status\": 0,", "\"frames_in_use_end\": 0,", "\"result\": \"pass\"", NULL,
	};
	struct cli_result *r;

	r = cli_run("run --engine %s --mem 4M --guest '%s' --guest-arg world "
		    "--guest-arg 'two words'", engine, GM_GUEST_ELF_HELLO);
	cli_expect(r, 0, text);
	free(r);
	r = cli_run("run --engine %s --mem 4M --vcpus 3 --private --json --guest '%s'", engine,
		    GM_GUEST_ELF_HELLO);
	cli_expect(r, 0, json);
	assert_int_equal(cli_count_json_objects(r->out), 1);
	free(r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
	};

	engine = gm_test_engine_name(gm_test_engine(argc, argv));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
