// SPDX-License-Identifier: MIT
/*
 * `guestmem run --snapshot-after/--snapshot-to/--key-file` and `guestmem
 * restore` as a user runs them, on the engine named by the first argument
 * ("emu" or "kvm"; exit 77 with the reason where the host has no such
 * engine).
 *
 * - resume: a private memtest snapshotted mid-run ends with result
 *   "snapshot" (exit 0); restored eagerly and with --lazy it finishes and
 *   passes, every word checked; the snapshot file never holds memtest's
 *   pattern in the clear.
 * - refused: a wrong key, a changed byte, a file cut short: exit 2, one
 *   line on stderr, nothing on stdout (with --lazy, a changed page lets the
 *   guest start and stops it: exit 1 saying so); bad key files and option
 *   sets: exit 2, one line; a guest that ends before the snapshot leaves no
 *   file behind.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "cli-test.h"

/* Mid-run: memtest takes about 0.3 s of guest time here on emu (2 s under ASan), 0.5 s on kvm. */
#define MEM		(strcmp(engine, "kvm") ? "32M" : "512M")
#define AFTER		(strcmp(engine, "kvm") ? "0.1" : "0.15")

/* memtest's words (guests/common.h): address * MUL ^ XOR, from RAM's private base. */
#define PAT_MUL		0x9E3779B97F4A7C15ULL
#define PAT_XOR		0x5bd1e995ULL
#define RAM_BASE	0x40000000ULL

static const char *engine;
static char dir[] = "/tmp/guestmem-test-snapshot-XXXXXX";
static char key[512], snap[512];

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Does @buf hold, at any offset, one of memtest's words of its first 4 MiB (every 61st)? */
static bool holds_memtest_pattern(const uint8_t *buf, size_t len)
{
	enum { SLOTS = 1 << 15 };	/* an open-addressed set, under a quarter full */
	static uint64_t set[SLOTS];

	memset(set, 0, sizeof(set));
	for (uint64_t w = 0; w < (4 << 20) / 8; w += 61) {
		uint64_t word = ((RAM_BASE + w * 8) * PAT_MUL) ^ PAT_XOR, h = word % SLOTS;

		while (set[h])
			h = (h + 1) % SLOTS;
		set[h] = word;
	}
	for (size_t off = 0; off + 8 <= len; off++) {
		uint64_t word, h;

		memcpy(&word, buf + off, sizeof(word));
		for (h = word % SLOTS; set[h]; h = (h + 1) % SLOTS)
			if (set[h] == word)
				return true;
	}
	return false;
}

/* Exit 2, one line on stderr mentioning @says, nothing on stdout. */
static void expect_refused(struct cli_result *r, const char *what, const char *says)
{
	if (r->status != 2 || cli_count_lines(r->err) != 1 || r->out[0] || !strstr(r->err, says))
		fail_msg("%s: status %d, stdout '%s', stderr '%s'", what, r->status, r->out, r->err);
	free(r);
}

static void take_snapshot(void)
{
	static const char *const want[] = { "\"result\": \"snapshot\"", "\"snapshot_bytes\": ",
					    "\"frames_in_use_end\": 0,", NULL };
	struct cli_result *r;
	uint8_t *bytes;
	size_t len;

	r = cli_run("run --engine %s --mem %s --private --snapshot-after %s --snapshot-to '%s' "
		    "--key-file '%s' --json", engine, MEM, AFTER, snap, key);
	if (r->status == 0 && strstr(r->out, "\"result\": \"pass\""))
		fail_msg("the guest ended before the snapshot: this host is faster than the test "
			 "expects");
	cli_expect(r, 0, want);
	free(r);
	bytes = read_file(snap, &len);
	printf("  %s: snapshot of a %s memtest after %s s: %zu bytes\n", engine, MEM, AFTER, len);
	assert_true(len > (1 << 20));
	assert_false(holds_memtest_pattern(bytes, len));
	/* Where a word of it is in the clear, at any offset, the search finds it. */
	{
		uint64_t word = ((RAM_BASE + 61 * 8 * 100) * PAT_MUL) ^ PAT_XOR;

		memcpy(bytes + 12345, &word, sizeof(word));
		assert_true(holds_memtest_pattern(bytes, len));
	}
	free(bytes);
}

static void test_resume(void **state)
{
	char checks[64];
	const char *const want[] = { "\"result\": \"pass\"", "\"mismatches\": 0,", checks,
				     "\"exit_status\": 0,", "\"frames_in_use_end\": 0,", NULL };
	static const char *const want_text[] = { "result          pass", "restored        lazily",
						  NULL };
	uint64_t mem = strcmp(engine, "kvm") ? 32ULL << 20 : 512ULL << 20;
	struct cli_result *r;

	snprintf(checks, sizeof(checks), "\"checks\": %llu,", (unsigned long long)(mem / 8));
	take_snapshot();
	r = cli_run("restore '%s' --key-file '%s' --json", snap, key);
	cli_expect(r, 0, want);
	assert_non_null(strstr(r->out, "\"lazy\": false"));
	free(r);
	r = cli_run("restore '%s' --key-file '%s' --lazy --json", snap, key);
	cli_expect(r, 0, want);
	assert_non_null(strstr(r->out, "\"lazy\": true"));
	free(r);
	r = cli_run("restore '%s' --key-file '%s' --lazy", snap, key);
	cli_expect(r, 0, want_text);
	free(r);
}

static void test_refused(void **state)
{
	static const char *const want_none[] = { NULL };
	char path[600], wrong[600];
	uint8_t *bytes, zero[40] = { 0 };
	struct cli_result *r;
	size_t len;

	bytes = read_file(snap, &len);	/* test_resume's */
	snprintf(wrong, sizeof(wrong), "%s/wrong.key", dir);
	write_file(wrong, zero, 32);
	expect_refused(cli_run("restore '%s' --key-file '%s'", snap, wrong), "a wrong key",
		       "the key does not open it");
	snprintf(path, sizeof(path), "%s/changed.snap", dir);
	bytes[len / 2] ^= 0x40;
	write_file(path, bytes, len);
	expect_refused(cli_run("restore '%s' --key-file '%s' --json", path, key), "a changed byte",
		       "cannot be restored");
	/* Lazily, the guest starts and stops on the page. */
	r = cli_run("restore '%s' --key-file '%s' --lazy", path, key);
	cli_expect(r, 1, want_none);
	assert_non_null(strstr(r->out, "failed to authenticate when first touched"));
	free(r);
	bytes[len / 2] ^= 0x40;
	write_file(path, bytes, len - 4096);
	expect_refused(cli_run("restore '%s' --key-file '%s'", path, key), "cut short",
		       "cannot be restored");
	expect_refused(cli_run("restore '%s' --key-file '%s' --lazy", path, key), "cut short, lazy",
		       "cannot be restored");
	free(bytes);

	/* Key files of 31 and 33 bytes, and option sets. */
	write_file(wrong, zero, 31);
	expect_refused(cli_run("restore '%s' --key-file '%s'", snap, wrong), "31 bytes", "exactly 32");
	write_file(wrong, zero, 33);
	expect_refused(cli_run("run --snapshot-after 1 --snapshot-to '%s' --key-file '%s'", path,
			       wrong), "33 bytes", "exactly 32");
	expect_refused(cli_run("run --snapshot-after 1 --key-file '%s'", key), "no --snapshot-to",
		       "go together");
	expect_refused(cli_run("run --snapshot-after 0 --snapshot-to '%s' --key-file '%s'", path,
			       key), "0 s", "--snapshot-after");
	expect_refused(cli_run("restore '%s'", snap), "no key", "--key-file");
	expect_refused(cli_run("restore --key-file '%s'", key), "no file", "which snapshot");
	expect_refused(cli_run("restore '%s/none' --key-file '%s'", dir, key), "no such file",
		       "cannot open");
}

/* A guest that ends first: its result, and no file (nor a half one) left. */
static void test_ended_first(void **state)
{
	static const char *const want[] = { "\"result\": \"pass\"", NULL };
	char path[600];
	struct cli_result *r;
	struct dirent *d;
	unsigned int n = 0;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/never.snap", dir);
	r = cli_run("run --engine %s --mem 4M --snapshot-after 60 --snapshot-to '%s' "
		    "--key-file '%s' --json", engine, path, key);
	cli_expect(r, 0, want);
	free(r);
	dp = opendir(dir);
	assert_non_null(dp);
	while ((d = readdir(dp)))
		n += !strncmp(d->d_name, "never.snap", 10);
	closedir(dp);
	assert_int_equal(n, 0);
}

static int setup(void **state)
{
	uint8_t k[32];

	assert_non_null(mkdtemp(dir));
	for (unsigned int i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)(i * 37 + 11);
	snprintf(key, sizeof(key), "%s/snap.key", dir);
	snprintf(snap, sizeof(snap), "%s/memtest.snap", dir);
	write_file(key, k, sizeof(k));
	return 0;
}

static int teardown(void **state)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ended_first),
	};

	engine = gm_test_engine_name(gm_test_engine(argc, argv));
	return cmocka_run_group_tests(tests, setup, teardown);
}
