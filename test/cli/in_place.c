/* SPDX-License-Identifier: MIT */
/*
 * `guestmem run --in-place` (issue 20): RAM is one in-place guest-only
 * file for both aliases.  test/cli/guests/inplace.c converts one 4 KiB page
 * in every stride of its slice back and forth from every vCPU at once,
 * keeping the bytes and zeroing them, and checks both, and that the page
 * beside each stays as written.  On the engine named by the first argument
 * ("emu" or "kvm"); exits 77 with the reason where the host has no such
 * engine.
 */
#include <inttypes.h>

#include "cli-test.h"
#include "guest-elfs.h"

static const char *engine;

/* The number after "@key": " in @out, or -1. */
static long long json_number(const char *out, const char *key)
{
	char pattern[64];
	const char *at;

	snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
	at = strstr(out, pattern);
	return at ? strtoll(at + strlen(pattern), NULL, 10) : -1;
}

/* inplace.c on @vcpus vCPUs of @mem MiB, @rounds rounds, a page per @stride_kib KiB. */
static struct cli_result *run_inplace(const char *store, unsigned int mem, unsigned int vcpus,
				      unsigned int rounds, unsigned int stride_kib)
{
	static const char *const want[] = {
		"\"in_place\": true,", "\"mismatches\": 0,", "\"exit_status\": 0,",
		"\"frames_in_use_end\": 0,", "\"result\": \"pass\"", NULL,
	};
	struct cli_result *r;

	r = cli_run("run --engine %s --store %s --mem %uM --vcpus %u --private --in-place --json "
		    "--guest '%s' --guest-arg %u --guest-arg %u", engine, store, mem, vcpus,
		    GM_GUEST_ELF_INPLACE, rounds, stride_kib);
	printf("  %s, %s, %u MiB, %u vCPU%s, %u rounds, a page per %u KiB: %s", engine, store,
	       mem, vcpus, vcpus > 1 ? "s" : "", rounds, stride_kib,
	       r->status ? r->err : "pass\n");
	cli_expect(r, 0, want);
	return r;
}

/* Four vCPUs converting 4 KiB pages on 4 KiB pages: bytes kept, then zero. */
static void test_shmem(void **state)
{
	struct cli_result *r = run_inplace("shmem", 64, 4, 8, 64);
	long long checks = json_number(r->out, "checks"), pages = checks / (8 * 12 + 3);

	/* Each page: 8 rounds of 12 words checked, and 3 for its neighbour at the end. */
	assert_int_equal(checks % (8 * 12 + 3), 0);
	/* About 4 vCPUs x 16 MiB / 64 KiB pages (less the guest's own span), 4 conversions a round. */
	assert_true(pages > 4 * 200);
	assert_true(json_number(r->out, "conversions") >= pages * 8 * 4);
	free(r);
}

/*
 * On 2 MiB pages, one 4 KiB page converted in each: the emulator keeps
 * every huge page whole, and the pages never converted stay mapped at
 * 2 MiB (faults by level); kvm converts whole huge pages only (-EINVAL, the
 * guest exits 2).
 */
static void test_hugetlb(void **state)
{
	struct cli_result *r;

	gm_test_huge_begin(40, false, NULL);
	if (strcmp(engine, "emu")) {
		r = cli_run("run --engine %s --store hugetlb --mem 64M --private --in-place "
			    "--guest '%s'", engine, GM_GUEST_ELF_INPLACE);
		assert_int_equal(r->status, 1);
		assert_non_null(strstr(r->out, "exited with status 2"));
		free(r);
		gm_test_huge_end();
		return;
	}
	r = run_inplace("hugetlb", 64, 2, 4, 2048);
	printf("    faults 4K %lld, 2M %lld\n", json_number(r->out, "4k"),
	       json_number(r->out, "2m"));
	assert_true(json_number(r->out, "2m") > 0);
	free(r);
	gm_test_huge_end();
}

/*
 * A snapshot carries the pages' state in the file and the bytes a
 * conversion kept: taken while the guest converts on 2 vCPUs, restored
 * eagerly and lazily, the guest goes on to find every pattern it kept.
 */
static void test_snapshot(void **state)
{
	static const char *const taken[] = { "\"result\": \"snapshot\"", "\"in_place\": true,",
					      NULL };
	static const char *const resumed[] = { "\"mismatches\": 0,", "\"exit_status\": 0,",
					       "\"frames_in_use_end\": 0,", "\"result\": \"pass\"",
					       NULL };
	char snap[] = "/tmp/gm-in-place-XXXXXX", key[] = "/tmp/gm-in-place-key-XXXXXX";
	uint8_t bytes[32];
	struct cli_result *r;
	int fd;

	fd = mkstemp(key);
	assert_true(fd >= 0);
	for (unsigned int i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 37 + 11);
	assert_int_equal(write(fd, bytes, sizeof(bytes)), sizeof(bytes));
	close(fd);
	fd = mkstemp(snap);
	assert_true(fd >= 0);
	close(fd);
	/* A conversion costs an exit to the VMM on kvm (about 60 us on kvm_pvm), far less on emu. */
	r = cli_run("run --engine %s --mem 64M --vcpus 2 --private --in-place --json --guest '%s' "
		    "--guest-arg %u --guest-arg 64 --snapshot-after 0.5 --snapshot-to '%s' "
		    "--key-file '%s'", engine, GM_GUEST_ELF_INPLACE,
		    strcmp(engine, "kvm") ? 100 : 10, snap, key);
	if (r->status == 0 && strstr(r->out, "\"result\": \"pass\""))
		fail_msg("the guest ended before the snapshot: this host is faster than the test "
			 "expects");
	cli_expect(r, 0, taken);
	free(r);
	for (int lazy = 0; lazy < 2; lazy++) {
		r = cli_run("restore '%s' --key-file '%s' --json %s", snap, key,
			    lazy ? "--lazy" : "");
		printf("  %s, restored %s: %s", engine, lazy ? "lazily" : "eagerly",
		       r->status ? r->err : "pass\n");
		cli_expect(r, 0, resumed);
		free(r);
	}
	unlink(snap);
	unlink(key);
}

/* In place needs pages of ours: the kvm store is refused (exit 2, one line). */
static void test_refused(void **state)
{
	struct cli_result *r = cli_run("run --engine %s --store kvm --in-place", engine);

	assert_int_equal(r->status, 2);
	assert_non_null(strstr(r->err, "--in-place needs --store shmem or hugetlb"));
	assert_int_equal(cli_count_lines(r->err), 1);
	free(r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shmem),
		cmocka_unit_test_teardown(test_hugetlb, gm_test_huge_teardown),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_refused),
	};

	engine = gm_test_engine_name(gm_test_engine(argc, argv));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
