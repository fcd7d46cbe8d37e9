// SPDX-License-Identifier: MIT
/*
 * `guestmem run --migrate-to` and `guestmem receive` as a user runs them,
 * over 127.0.0.1, on the engine the argument names (the moves; the
 * protocol's refusals are the same whatever the engine, and run on emu):
 *
 * - moved: a guest that keeps dirtying memory (guests/dirty.c; private RAM,
 *   and shared RAM on 2 vCPUs), started on the sender, ends there with
 *   result "migrated" (exit 0) and finishes on the receiver, where it
 *   checks every word of its RAM and passes; and a guest converting
 *   ranges of its RAM to shared and back on 2 vCPUs while the rounds run
 *   (guests/converting.c) passes on the receiver (converted pages read
 *   zero there);
 * - refused: a receiver with another key refuses round 0 (exit 2, one
 *   line), and the sender's guest runs to its end where it is (it passes,
 *   and the run fails: exit 1, saying why); with nobody listening, the
 *   same;
 * - last round refused: a receiver (here, the test's own) that takes every
 *   pre-copy round and refuses the last: the stopped guest goes on at the
 *   sender from where it stopped and passes there (exit 1);
 * - options that do not go together: exit 2, one line.
 *
 * The guests must outlive the pre-copy rounds: on kvm they rewrite their
 * hot set many more times than on the emulator, and more still in the KVM
 * lab, where every round's sealing is emulated (guest_rounds()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "array.h"
#include "cli-test.h"
#include "guest-elfs.h"

/*
 * The dirty guest (guests/dirty.c): rewrites of a 512 KiB hot set per vCPU
 * (300 on emu, about 2.5 s here); it checks every word of free RAM at the
 * end.
 */
#define MEM		"64M"
#define GUEST		"--guest '" GM_GUEST_ELF_DIRTY "' --guest-arg %u --guest-arg 512"
#define WORDS		"8126464"	/* its checks: 62 MiB of free RAM / 8 */

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/*
 * Rounds of a guest's work that keep it running past the pre-copy rounds:
 * on emu, on kvm (its hot set is rewritten 100 times as fast), and on kvm
 * in the KVM lab, where sealing a round costs some seconds (measured there:
 * 60,000 rewrites of 512 KiB outlive four rounds, in 15 s).
 */
struct rounds {
	unsigned int emu, kvm, lab;
};

static const struct rounds dirty_rounds = { 300, 30000, 60000 };
static const struct rounds converting_rounds = { 80, 80, 80 };

static unsigned int guest_rounds(const struct rounds *r)
{
	if (engine_arg == GM_ENGINE_EMU)
		return r->emu;
	return gm_test_in_lab() ? r->lab : r->kvm;
}

static char dir[] = "/tmp/guestmem-test-migrate-XXXXXX";
static char key[512], other_key[512];

static void write_key(const char *path, unsigned char seed)
{
	unsigned char k[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	for (int i = 0; i < 32; i++)
		k[i] = (unsigned char)(seed + 7 * i);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, k, sizeof(k)), (ssize_t)sizeof(k));
	close(fd);
}

static int setup(void **state)
{
	gm_test_require_engine(engine_arg);
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(other_key, sizeof(other_key), "%s/other-key", dir);
	write_key(key, 1);
	write_key(other_key, 2);
	return 0;
}

static int teardown(void **state)
{
	unlink(key);
	unlink(other_key);
	rmdir(dir);
	return 0;
}

/* `guestmem receive` in the background, its output in files. */
struct receiver {
	pid_t pid;
	unsigned int port;
	char out[600], err[600];
};

static void read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	cli_slurp(f, buf, size);
	fclose(f);
}

static void receiver_start(struct receiver *r, const char *key_file)
{
	char text[4096];

	snprintf(r->out, sizeof(r->out), "%s/receive.out", dir);
	snprintf(r->err, sizeof(r->err), "%s/receive.err", dir);
	unlink(r->err);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (!r->pid) {
		int out = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(99);
		execl(gm_test_guestmem_bin(), "guestmem", "receive", "--listen", "127.0.0.1:0",
		      "--key-file", key_file, "--json", (char *)NULL);
		_exit(98);
	}
	/* It says where it listens before it waits. */
	for (int i = 0; i < 10000; i++) {
		char *at;

		if (!access(r->err, R_OK)) {
			read_text(r->err, text, sizeof(text));
			at = strstr(text, "listening on port ");
			if (at && strchr(at, '\n')) {
				r->port = (unsigned int)strtoul(at + strlen("listening on port "), NULL, 10);
				return;
			}
		}
		usleep(1000);
	}
	fail_msg("the receiver never said where it listens");
}

/* Wait for the receiver; its exit status, stdout and stderr. */
static struct cli_result *receiver_end(struct receiver *r)
{
	struct cli_result *res = calloc(1, sizeof(*res));
	int status;

	assert_non_null(res);
	assert_int_equal(waitpid(r->pid, &status, 0), r->pid);
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	read_text(r->out, res->out, sizeof(res->out));
	read_text(r->err, res->err, sizeof(res->err));
	unlink(r->out);
	unlink(r->err);
	return res;
}

static struct cli_result *send_guest(unsigned int port, const char *more)
{
	return cli_run("run --engine %s --mem " MEM " " GUEST " %s --migrate-to 127.0.0.1:%u "
		       "--migrate-after 0.05 --key-file '%s' --json",
		       gm_test_engine_name(engine_arg), guest_rounds(&dirty_rounds), more, port, key);
}

static void moved(const char *more)
{
	struct receiver rcv;
	struct cli_result *s, *r;

	receiver_start(&rcv, key);
	s = send_guest(rcv.port, more);
	r = receiver_end(&rcv);
	printf("  sender: %s", s->out);
	cli_expect(s, 0, (const char *const[]){ "\"result\": \"migrated\"", "\"done\": true",
						NULL });
	cli_expect(r, 0, (const char *const[]){ "\"result\": \"pass\"", "\"mismatches\": 0",
						"\"checks\": " WORDS, "\"received\": {", NULL });
	free(s);
	free(r);
}

static void test_moved_private(void **state)
{
	moved("--private");
}

static void test_moved_shared_two_vcpus(void **state)
{
	moved("--vcpus 2");
}

/*
 * 2 vCPUs over 128 MiB of private RAM, each converting a 4 MiB range to
 * shared and back over and over (test/cli/guests/converting.c), checking
 * it reads zero after each conversion, while the pre-copy rounds run.  The
 * conversions dirty the ranges at a steady rate, so the rounds stop
 * shrinking and the migration ends with the guest still converting; the
 * receiver's guest must then pass: nothing the sender's frames held
 * before a conversion may come across as the content of a page converted
 * since.  (leakcheck, which converts each slice just twice, could end
 * before the rounds did.)
 */
static void test_moved_converting(void **state)
{
	struct receiver rcv;
	struct cli_result *s, *r;
	char checks[64];

	receiver_start(&rcv, key);
	s = cli_run("run --engine %s --mem 128M --private --vcpus 2 --guest '"
		    GM_GUEST_ELF_CONVERTING "' --guest-arg %u --guest-arg 4096 --migrate-to "
		    "127.0.0.1:%u --migrate-after 0.05 --key-file '%s' --json",
		    gm_test_engine_name(engine_arg), guest_rounds(&converting_rounds), rcv.port, key);
	r = receiver_end(&rcv);
	printf("  sender: %s", s->out);
	cli_expect(s, 0, (const char *const[]){ "\"result\": \"migrated\"", "\"done\": true",
						NULL });
	if (strstr(s->out, "\"conversions\": 0,"))
		fail_msg("no conversion before the guest moved: %s", s->out);
	/* 2 vCPUs x the rounds x 2 checks x 1,024 pages. */
	snprintf(checks, sizeof(checks), "\"checks\": %u",
		 2 * guest_rounds(&converting_rounds) * 2 * 1024);
	cli_expect(r, 0, (const char *const[]){ "\"result\": \"pass\"", "\"mismatches\": 0",
						checks, "\"received\": {", NULL });
	free(s);
	free(r);
}

static void test_wrong_key(void **state)
{
	struct receiver rcv;
	struct cli_result *s, *r;

	receiver_start(&rcv, other_key);
	s = send_guest(rcv.port, "--private");
	r = receiver_end(&rcv);
	/* The receiver refuses at once, and the guest ends where it was. */
	if (r->status != 2 || !strstr(r->err, "round 0 refused: the key does not open it") ||
	    r->out[0])
		fail_msg("receiver: exit %d, stdout '%s', stderr '%s'", r->status, r->out, r->err);
	cli_expect(s, 1, (const char *const[]){ "\"done\": false", "refused round 0",
						"\"checks\": " WORDS, "\"mismatches\": 0",
						"ran to its end here", NULL });
	free(s);
	free(r);
}

static void test_nobody_listening(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct cli_result *s;

	/* A port that was free a moment ago, and is not listened on. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	s = send_guest(ntohs(sa.sin_port), "--private");
	cli_expect(s, 1, (const char *const[]){ "cannot connect", "\"checks\": " WORDS, NULL });
	free(s);
}

/* The wire format (src/cli/migrate.h), as a receiver of our own speaks it. */
struct frame {
	char magic[8];
	uint32_t kind;			/* 1 round, 2 last, 3 abort */
	uint32_t round;
	uint64_t len;
};

struct ack {
	char magic[8];
	uint32_t round;
	int32_t status;
};

struct picky {
	int listen_fd;
	unsigned int rounds;		/* taken */
	bool saw_last;
};

static bool recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Take every pre-copy round (without looking), refuse the last with -EIO. */
static void *picky_receiver(void *arg)
{
	struct picky *p = arg;
	int fd = accept(p->listen_fd, NULL, NULL);
	static uint8_t buf[1 << 16];
	struct frame f;

	while (fd >= 0 && recv_all(fd, &f, sizeof(f)) && !memcmp(f.magic, "GMMIG\0\0\1", 8) &&
	       f.kind != 3) {
		struct ack a = { .magic = "GMACK\0\0\1", .round = f.round };

		for (uint64_t left = f.len; left; ) {
			size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

			if (!recv_all(fd, buf, n))
				goto out;
			left -= n;
		}
		if (f.kind == 2) {
			p->saw_last = true;
			a.status = -EIO;
		} else {
			p->rounds++;
		}
		if (send(fd, &a, sizeof(a), MSG_NOSIGNAL) != sizeof(a) || f.kind == 2)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void test_last_round_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct picky p = { .listen_fd = socket(AF_INET, SOCK_STREAM, 0) };
	struct cli_result *s;
	pthread_t t;

	assert_true(p.listen_fd >= 0);
	assert_int_equal(bind(p.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p.listen_fd, 1), 0);
	assert_int_equal(getsockname(p.listen_fd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(pthread_create(&t, NULL, picky_receiver, &p), 0);
	s = send_guest(ntohs(sa.sin_port), "--private");
	assert_int_equal(pthread_join(t, NULL), 0);
	close(p.listen_fd);
	assert_true(p.saw_last);
	assert_true(p.rounds >= 1);
	/*
	 * One JSON object: the guest going on here to a pass, with the
	 * migration that failed in it.
	 */
	cli_expect(s, 1, (const char *const[]){ "the receiver refused round", "\"done\": false",
						"\"result\": \"pass\"", "\"checks\": " WORDS,
						NULL });
	if (cli_count_json_objects(s->out) != 1)
		fail_msg("not one JSON object: '%s'", s->out);
	if (!strstr(s->err, "the guest goes on here from where it stopped"))
		fail_msg("stderr '%s'", s->err);
	free(s);
}

static void test_bad_options(void **state)
{
	static const char *const bad[][2] = {
		{ "run --migrate-to 127.0.0.1:1", "needs --key-file" },
		{ "run --migrate-to nowhere --key-file /dev/null", "HOST:PORT" },
		{ "run --migrate-to 127.0.0.1: --key-file /dev/null", "HOST:PORT" },
		{ "run --migrate-after 1", "--migrate-after needs --migrate-to" },
		{ "run --migrate-to 127.0.0.1:1 --migrate-after -1 --key-file /dev/null",
		  "bad value '-1'" },
		{ "run --migrate-to 127.0.0.1:1 --snapshot-after 1 --key-file /dev/null",
		  "exclude each other" },
		{ "receive --key-file /dev/null", "--listen and --key-file are needed" },
		{ "receive --listen 127.0.0.1:0", "--listen and --key-file are needed" },
		{ "receive --listen 127.0.0.1:0 --key-file /dev/null", "a key is exactly 32" },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(bad); i++) {
		struct cli_result *r = cli_run("%s", bad[i][0]);

		if (r->status != 2 || cli_count_lines(r->err) != 1 || !strstr(r->err, bad[i][1]) ||
		    r->out[0])
			fail_msg("'%s': exit %d, stdout '%s', stderr '%s'", bad[i][0], r->status,
				 r->out, r->err);
		free(r);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moved_private),
		cmocka_unit_test(test_moved_shared_two_vcpus),
		cmocka_unit_test(test_moved_converting),
		/* The protocol's refusals: emu only. */
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_nobody_listening),
		cmocka_unit_test(test_last_round_refused),
		cmocka_unit_test(test_bad_options),
	};
	size_t n = GM_ARRAY_SIZE(tests);

	engine_arg = gm_test_engine(argc, argv);
	if (engine_arg != GM_ENGINE_EMU)
		n = 3;
	signal(SIGPIPE, SIG_IGN);
	return _cmocka_run_group_tests("migrate", tests, n, setup, teardown);
}
