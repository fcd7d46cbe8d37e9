/* SPDX-License-Identifier: MIT */
/*
 * `guestmem run --kernel`, refused: what cannot be booted or combined ends
 * with exit status 2 and one line on stderr, on any host (the emulator
 * refuses an operating system; a file that is no bzImage is named).
 */
#include <fcntl.h>

#include "cli-test.h"

static void expect_refused(const char *args, const char *why)
{
	struct cli_result *r = cli_run("%s", args);

	if (r->status != 2 || !strstr(r->err, why) || cli_count_lines(r->err) != 1)
		fail_msg("'%s': exit %d, stderr '%s' (wanted 2 and '%s')", args, r->status, r->err,
			 why);
	free(r);
}

static void test_options(void **state)
{
	expect_refused("run --engine emu --kernel /nonexistent", "needs the kvm engine");
	expect_refused("run --initrd /dev/null", "need --kernel");
	expect_refused("run --cmdline quiet", "need --kernel");
	expect_refused("run --shared", "need --kernel");
	expect_refused("run --search-host-view abc", "bad value");
	expect_refused("run --search-host-view zz", "bad value");
	expect_refused("run --kernel /nonexistent --workload touch", "--kernel takes no --workload");
	expect_refused("run --kernel /nonexistent --private", "private unless --shared");
	expect_refused("run --kernel", "needs a value");
}

/* Where KVM works, the files themselves are looked at. */
static void test_files(void **state)
{
	char path[] = "/tmp/guestmem-not-a-bzimage-XXXXXX";
	char zeros[8192] = { 0 };
	char args[256];
	int fd;

	if (!gm_engine_available(GM_ENGINE_KVM, NULL))
		skip();
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, zeros, sizeof(zeros)), sizeof(zeros));
	close(fd);
	snprintf(args, sizeof(args), "run --engine kvm --mem 64M --kernel %s", path);
	expect_refused(args, "is not a bzImage");
	expect_refused("run --engine kvm --mem 64M --kernel /nonexistent", "cannot read the kernel");
	snprintf(args, sizeof(args), "run --engine kvm --mem 16M --kernel %s", path);
	expect_refused(args, "--mem between 32M and 3G");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
