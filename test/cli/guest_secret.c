// SPDX-License-Identifier: MIT
/*
 * examples/guests/secret.c, built by test/cli/meson.build, run with
 * `guestmem run --guest` on the engine named by the first argument ("emu"
 * or "kvm").  Exits 77 with the reason where the host has no such engine.
 */
#include <inttypes.h>

#include "array.h"
#include "cli-test.h"
#include "guest-elfs.h"

static const char *engine;

/*
 * secret, on every vCPU: a secret written to private memory is read back,
 * the host never sees it, converting to shared and back to private leaves
 * only zeroes; with RAM starting shared, private, and private page by page
 * (--convert-on-fault); 1 and 2 vCPUs.  Each vCPU makes 5 checks of 512
 * pages.
 */
static void secret_case(const char *store, const char *mode, unsigned int vcpus)
{
	static const char *const want_none[] = { NULL };
	char want_checks[64];
	const char *const want[] = {
		want_checks, "\"mismatches\": 0,", "\"nonzero\": 0,", "\"exit_status\": 0,",
		"\"frames_in_use_end\": 0,", "\"result\": \"pass\"", NULL,
	};
	struct cli_result *r;

	snprintf(want_checks, sizeof(want_checks), "\"checks\": %u,", 5 * 512 * vcpus);
	r = cli_run("run --engine %s --store %s --mem %uM --vcpus %u %s --json --guest '%s'",
		    engine, store, 2 + 2 * vcpus, vcpus, mode, GM_GUEST_ELF_SECRET);
	printf("  %s, %s, %u vCPU%s %s: %s", engine, store, vcpus, vcpus > 1 ? "s" : "", mode,
	       r->status ? r->err : "pass\n");
	cli_expect(r, 0, want);
	free(r);
	/* Too little RAM for the second vCPU's chunk: that vCPU fails with status 10. */
	if (vcpus == 2 && !strcmp(store, "shmem")) {
		r = cli_run("run --engine %s --mem 4M --vcpus 2 %s --guest '%s'", engine, mode,
			    GM_GUEST_ELF_SECRET);
		cli_expect(r, 1, want_none);
		assert_non_null(strstr(r->out, "vCPU 1 exited with status 10"));
		free(r);
	}
}

static void test_secret(void **state)
{
	static const char *const modes[] = { "", "--private", "--private --convert-on-fault" };

	for (unsigned int vcpus = 1; vcpus <= 2; vcpus++)
		for (size_t m = 0; m < GM_ARRAY_SIZE(modes); m++)
			secret_case("shmem", modes[m], vcpus);
}

/* The same on 2 MiB huge pages, where this host has them to give (as root). */
static void test_secret_hugetlb(void **state)
{
	gm_test_huge_begin(6, false, NULL);
	secret_case("hugetlb", "", 2);
	secret_case("hugetlb", "--private", 2);
	gm_test_huge_end();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret),
		cmocka_unit_test_teardown(test_secret_hugetlb, gm_test_huge_teardown),
	};

	engine = gm_test_engine_name(gm_test_engine(argc, argv));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
