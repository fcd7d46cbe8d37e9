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
#include "migrate.h"
#include "guest-elfs.h"

/*
 * The dirty guest (guests/dirty.c): rewrites of a 256 KiB hot set per vCPU
 * (600 on emu, about 2.5 s here); it checks every word of free RAM at the
 * end.  Two vCPUs' hot sets together stay under the round that the sender
 * stops the guest for (1 MiB), so that the rounds end whatever their pace.
 */
#define MEM		"64M"
#define GUEST		"--guest '" GM_GUEST_ELF_DIRTY "' --guest-arg %u --guest-arg 256"
#define WORDS		"8126464"	/* its checks: 62 MiB of free RAM / 8 */

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/*
 * Rounds of a guest's work that keep it running past the pre-copy rounds:
 * on emu, on kvm (its hot set is rewritten 100 times as fast), and on kvm
 * in the KVM lab, where sealing a round costs some seconds: there 60,000
 * rewrites of 512 KiB outlived four rounds in one run (15 s) and not in
 * another, so the lab's guests do 2.5 times as much, a minute or so.  On
 * kvm_pvm, 60,000 split over two vCPUs once ended before the rounds did.
 */
struct rounds {
	unsigned int emu, kvm, lab;
};

static const struct rounds dirty_rounds = { 600, 120000, 300000 };
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
 * RAM in place (issue 20): test/cli/guests/inplace.c converts one page per
 * 64 KiB back and forth on 2 vCPUs, keeping its bytes and zeroing them,
 * while the rounds run; the pages' state in the file and the bytes a
 * conversion kept move with it, and the guest finds every one on the
 * receiver.  A conversion is an exit on kvm (about 60 us on kvm_pvm), so
 * fewer rounds there.
 */
static void test_moved_in_place(void **state)
{
	struct receiver rcv;
	struct cli_result *s, *r;

	receiver_start(&rcv, key);
	s = cli_run("run --engine %s --mem 64M --vcpus 2 --private --in-place --guest '%s' "
		    "--guest-arg %u --guest-arg 64 --migrate-to 127.0.0.1:%u --migrate-after 0.3 "
		    "--key-file '%s' --json", gm_test_engine_name(engine_arg),
		    GM_GUEST_ELF_INPLACE, engine_arg == GM_ENGINE_KVM ? 20 : 300, rcv.port, key);
	r = receiver_end(&rcv);
	printf("  sender: %s", s->out);
	cli_expect(s, 0, (const char *const[]){ "\"result\": \"migrated\"", "\"done\": true",
						"\"in_place\": true,", NULL });
	cli_expect(r, 0, (const char *const[]){ "\"result\": \"pass\"", "\"mismatches\": 0",
						"\"in_place\": true,", NULL });
	free(s);
	free(r);
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

/* The wire format (src/vmm/migrate.h), as a receiver of our own speaks it. */
#define HELLO_MAGIC	"GMHELO\0\2"
#define FRAME_MAGIC	"GMMIG\0\0\2"
#define ACK_MAGIC	"GMACK\0\0\2"
#define TAG_BYTES	32

struct hello {
	char magic[8];
	uint8_t nonce[32];
};

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

/* A migration's rounds as the sender sent them: frame, stream and tag each. */
struct recording {
	unsigned int n;
	uint8_t *round[GM_MIG_MAX_ROUNDS + 1];
	size_t len[GM_MIG_MAX_ROUNDS + 1];
};

struct picky {
	int listen_fd;
	bool refuse_last;		/* answer the last round -EIO */
	struct recording *rec;		/* or NULL */
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

static bool send_all(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* One round off @fd: its frame, stream and tag, into a buffer of its own. */
static uint8_t *read_round(int fd, struct frame *f, size_t *len)
{
	uint8_t *round;

	if (!recv_all(fd, f, sizeof(*f)) || memcmp(f->magic, FRAME_MAGIC, 8) || f->kind == 3 ||
	    f->len > (1ULL << 30))
		return NULL;
	*len = sizeof(*f) + f->len + TAG_BYTES;
	round = malloc(*len);
	assert_non_null(round);
	memcpy(round, f, sizeof(*f));
	if (!recv_all(fd, round + sizeof(*f), f->len + TAG_BYTES)) {
		free(round);
		return NULL;
	}
	return round;
}

/* Take every round (without checking its tag), record it, answer it. */
static void *picky_receiver(void *arg)
{
	struct picky *p = arg;
	struct hello h = { .magic = HELLO_MAGIC };
	int fd = accept(p->listen_fd, NULL, NULL);
	struct frame f;
	uint8_t *round;
	size_t len;

	if (fd < 0 || !send_all(fd, &h, sizeof(h)))
		goto out;
	while ((round = read_round(fd, &f, &len))) {
		struct ack a = { .magic = ACK_MAGIC, .round = f.round };

		if (p->rec && p->rec->n < GM_ARRAY_SIZE(p->rec->round)) {
			p->rec->round[p->rec->n] = round;
			p->rec->len[p->rec->n++] = len;
		} else {
			free(round);
		}
		if (f.kind == 2) {
			p->saw_last = true;
			a.status = p->refuse_last ? -EIO : 0;
		} else {
			p->rounds++;
		}
		if (!send_all(fd, &a, sizeof(a)) || f.kind == 2)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Listen on a free loopback port for @p, and run it on @t. */
static unsigned int picky_start(struct picky *p, pthread_t *t)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->listen_fd >= 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->listen_fd, 1), 0);
	assert_int_equal(getsockname(p->listen_fd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(pthread_create(t, NULL, picky_receiver, p), 0);
	return ntohs(sa.sin_port);
}

static void picky_end(struct picky *p, pthread_t t)
{
	assert_int_equal(pthread_join(t, NULL), 0);
	close(p->listen_fd);
}

/* A whole migration as a recording proxy saw it (the sender's side of it). */
static void record_migration(struct recording *rec)
{
	struct picky p = { .rec = rec };
	struct cli_result *s;
	pthread_t t;

	s = send_guest(picky_start(&p, &t), "--private");
	picky_end(&p, t);
	cli_expect(s, 0, (const char *const[]){ "\"result\": \"migrated\"", NULL });
	assert_true(p.saw_last && rec->n >= 2);
	free(s);
}

static void recording_free(struct recording *rec)
{
	for (unsigned int i = 0; i < rec->n; i++)
		free(rec->round[i]);
}

/* Connect to a receiver on @port and take its hello into @h. */
static int connect_receiver(unsigned int port, struct hello *h)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_true(recv_all(fd, h, sizeof(*h)));
	assert_memory_equal(h->magic, HELLO_MAGIC, 8);
	return fd;
}

/*
 * A migration recorded whole (through a proxy of ours) and played byte for
 * byte to a fresh receiver holding the same key: its nonce is not the one
 * the recorded tags cover, so round 0 is refused, and no guest runs.
 */
static void test_replayed(void **state)
{
	struct recording rec = { 0 };
	struct receiver rcv;
	struct cli_result *r;
	struct hello h;
	int fd;

	record_migration(&rec);
	receiver_start(&rcv, key);
	fd = connect_receiver(rcv.port, &h);
	for (unsigned int i = 0; i < rec.n; i++)
		if (!send_all(fd, rec.round[i], rec.len[i]))
			break;	/* the receiver hung up: it refused */
	close(fd);
	r = receiver_end(&rcv);
	if (r->status != 2 || !strstr(r->err, "round 0 is not this migration's") || r->out[0])
		fail_msg("receiver: exit %d, stdout '%s', stderr '%s'", r->status, r->out, r->err);
	free(r);
	recording_free(&rec);
}

/*
 * A live migration through a proxy that passes round 0 on and puts round 1
 * of another (recorded) migration in place of the sender's own: each
 * stream opens with the key, but the chain of tags breaks, and the
 * receiver refuses the spliced round; the sender's guest goes on where it
 * is.
 */
struct splicer {
	int listen_fd;
	unsigned int receiver_port;
	const struct recording *other;
	bool spliced;
};

static void *splice_proxy(void *arg)
{
	struct splicer *sp = arg;
	int in = accept(sp->listen_fd, NULL, NULL), out;
	struct hello h;
	struct frame f;
	struct ack a;
	uint8_t *round;
	size_t len;

	if (in < 0)
		return NULL;
	out = connect_receiver(sp->receiver_port, &h);
	/* The sender hears the receiver's own nonce: its rounds are genuine. */
	if (!send_all(in, &h, sizeof(h)))
		goto out;
	round = read_round(in, &f, &len);	/* round 0 passes */
	if (!round || !send_all(out, round, len) || !recv_all(out, &a, sizeof(a)) ||
	    !send_all(in, &a, sizeof(a))) {
		free(round);
		goto out;
	}
	free(round);
	round = read_round(in, &f, &len);	/* round 1: the other migration's goes */
	free(round);
	if (round && f.round == 1)
		sp->spliced = send_all(out, sp->other->round[1], sp->other->len[1]);
	recv_all(out, &a, sizeof(a));		/* the receiver hangs up */
out:
	close(out);
	close(in);
	return NULL;
}

static void test_spliced(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct recording other = { 0 };
	struct splicer sp = { .other = &other };
	struct receiver rcv;
	struct cli_result *s, *r;
	pthread_t t;

	record_migration(&other);
	receiver_start(&rcv, key);
	sp.receiver_port = rcv.port;
	sp.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(sp.listen_fd >= 0);
	assert_int_equal(bind(sp.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(sp.listen_fd, 1), 0);
	assert_int_equal(getsockname(sp.listen_fd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(pthread_create(&t, NULL, splice_proxy, &sp), 0);
	s = send_guest(ntohs(sa.sin_port), "--private");
	assert_int_equal(pthread_join(t, NULL), 0);
	close(sp.listen_fd);
	r = receiver_end(&rcv);
	assert_true(sp.spliced);
	if (r->status == 0 || !strstr(r->err, "round 1 is not this migration's"))
		fail_msg("receiver: exit %d, stdout '%s', stderr '%s'", r->status, r->out, r->err);
	/* The sender's guest was never stopped: it ran to its end there. */
	cli_expect(s, 1, (const char *const[]){ "\"done\": false", "\"checks\": " WORDS,
						"\"mismatches\": 0", NULL });
	free(s);
	free(r);
	recording_free(&other);
}

static void test_last_round_refused(void **state)
{
	struct picky p = { .refuse_last = true };
	struct cli_result *s;
	pthread_t t;

	s = send_guest(picky_start(&p, &t), "--private");
	picky_end(&p, t);
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
		cmocka_unit_test(test_moved_in_place),
		/* The protocol's refusals: emu only. */
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_nobody_listening),
		cmocka_unit_test(test_last_round_refused),
		cmocka_unit_test(test_replayed),
		cmocka_unit_test(test_spliced),
		cmocka_unit_test(test_bad_options),
	};
	size_t n = GM_ARRAY_SIZE(tests);

	engine_arg = gm_test_engine(argc, argv);
	if (engine_arg != GM_ENGINE_EMU)
		n = 4;	/* the moves, not the refusals */
	signal(SIGPIPE, SIG_IGN);
	return _cmocka_run_group_tests("migrate", tests, n, setup, teardown);
}
