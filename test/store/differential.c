// SPDX-License-Identifier: MIT
/*
 * Differential test: seeded random sequences of ftruncate, fallocate,
 * add_seals and content operations, run side by side on a real kernel memfd
 * and on a guest-only file (GM_MFD_GUEST) made with the same sealing flag.
 * Every return value and errno must agree (the kernel's -1/errno read as
 * -errno), and after every step the size, the seals (bit 0x20 masked: the
 * kernel's F_SEAL_EXEC, our GM_SEAL_GUEST) and the pages held.  Contents are
 * written with pwrite on the memfd and with the guest's path on the other
 * side, and the whole files are compared every few steps (holes read zero).
 *
 * Values a guest-only file must refuse (unaligned, past the most a
 * guest-only file can address: 2^48 bytes, where the kernel's memfd goes
 * on to 2^63 - 1) are not given to the kernel; the guest side must answer
 * as documented and change nothing.
 *
 * On a mismatch the seed is printed and the sequence is shrunk to the
 * shortest failing prefix, which is printed step by step.
 * Environment: GM_DIFF_SEED (base seed), GM_DIFF_STEPS (total steps).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <guestmem/file.h>
#include "array.h"
#include "store.h"
#include "../common.h"
#include "../frames.h"

#define PG		((int64_t)GM_PAGE_SIZE)
#define MAX_PAGES	64
#define SESSION_STEPS	256
#define DEFAULT_STEPS	40960
#define CHECK_EVERY	16
#define SEAL_EXEC	0x20	/* the kernel's F_SEAL_EXEC */
#define KEEP		GM_FALLOC_KEEP_SIZE
#define PUNCH		GM_FALLOC_PUNCH_HOLE

enum kind { FTRUNCATE, FALLOCATE, ADD_SEALS, PWRITE, PREAD_CMP };

/* How the guest-only side is judged for one step. */
enum judge {
	SAME,		/* both sides run it; results must agree */
	GUEST_ONLY,	/* only the guest side runs it; it must return @want */
};

struct step {
	enum kind kind;
	enum judge judge;
	int64_t a, b, c;	/* ftruncate(a); fallocate(a, b, c); seals a; io (off b, len c) */
	int64_t want;		/* GUEST_ONLY: the documented answer */
	unsigned int data_seed;
};

struct pair {
	int kfd;
	struct gm_file *g;
	bool sealing;
};

struct run {
	uint64_t rng;
	struct pair p;
	char why[512];		/* the first mismatch */
	bool log;		/* print every step */
};

static unsigned char kbuf[MAX_PAGES * GM_PAGE_SIZE], gbuf[MAX_PAGES * GM_PAGE_SIZE];
static unsigned char wbuf[4 * GM_PAGE_SIZE];

static uint64_t rnd(struct run *r, uint64_t n)
{
	return n ? gm_test_splitmix(&r->rng) % n : 0;
}

static int64_t ksize(struct run *r)
{
	struct stat st;

	return fstat(r->p.kfd, &st) < 0 ? -errno : st.st_size;
}

/* The most bytes a guest-only file can address: -EFBIG past it. */
static int64_t cap_bytes(void)
{
	return (int64_t)gm_test_max_file_bytes();
}

/* ---- generating steps (from the rng and the kernel file's size) ---- */

static void gen_ftruncate(struct run *r, struct step *s)
{
	uint64_t x = rnd(r, 100);

	s->kind = FTRUNCATE;
	s->judge = SAME;
	if (x < 80) {
		s->a = (int64_t)rnd(r, MAX_PAGES + 1) * PG;
	} else if (x < 85) {
		s->a = ksize(r);
	} else if (x < 90) {
		s->a = x & 1 ? -1 : -(int64_t)rnd(r, 1000) * PG - PG;
	} else if (x < 95) {
		s->judge = GUEST_ONLY;
		s->a = (int64_t)rnd(r, MAX_PAGES * PG) | 1;
		s->want = -EINVAL;
	} else {
		s->judge = GUEST_ONLY;
		s->a = x & 1 ? INT64_MAX & ~(PG - 1) : cap_bytes() + (int64_t)(1 + rnd(r, 8)) * PG;
		s->want = -EFBIG;
	}
}

static const int good_modes[] = { 0, KEEP, PUNCH | KEEP };
static const int bad_modes[] = { PUNCH, 0x04, 0x08, 0x09, 0x10, 0x11, 0x20, 0x40, 0x41, 0x80,
				  0x81, 0x100, -1, PUNCH | 0x10 };

static void gen_fallocate(struct run *r, struct step *s)
{
	uint64_t x = rnd(r, 100), y = rnd(r, 100);

	s->kind = FALLOCATE;
	s->judge = SAME;
	s->a = x < 85 ? good_modes[rnd(r, GM_ARRAY_SIZE(good_modes))] :
			bad_modes[rnd(r, GM_ARRAY_SIZE(bad_modes))];
	s->b = (int64_t)rnd(r, MAX_PAGES) * PG;
	s->c = (int64_t)(1 + rnd(r, MAX_PAGES / 2)) * PG;
	if (y < 85)
		return;
	if (y < 88) {
		s->b = -(int64_t)(1 + rnd(r, 4)) * PG;
	} else if (y < 91) {
		s->c = y & 1 ? 0 : -PG;
	} else if (y < 94) {
		s->b = INT64_MAX - PG + 1;		/* offset + len overflows */
		s->c = 2 * PG;
	} else if (y < 97) {
		s->judge = GUEST_ONLY;
		s->a = good_modes[rnd(r, GM_ARRAY_SIZE(good_modes))];
		if (y & 1)
			s->b |= 1 + (int64_t)rnd(r, PG - 1);
		else
			s->c += 1 + (int64_t)rnd(r, PG - 1);
		s->want = -EINVAL;
	} else {
		s->judge = GUEST_ONLY;
		s->a = good_modes[rnd(r, GM_ARRAY_SIZE(good_modes))];
		s->b = cap_bytes() - (y & 1 ? 0 : PG);	/* always ends past it */
		s->c = 2 * PG + (int64_t)rnd(r, 4) * PG;
		s->want = -EFBIG;
	}
}

static void gen_add_seals(struct run *r, struct step *s)
{
	unsigned int seals = 0;

	s->kind = ADD_SEALS;
	s->judge = SAME;
	if (rnd(r, 100) < 4)
		seals |= GM_SEAL_SEAL;
	if (rnd(r, 100) < 25)
		seals |= GM_SEAL_SHRINK;
	if (rnd(r, 100) < 25)
		seals |= GM_SEAL_GROW;
	if (rnd(r, 100) < 8)
		seals |= GM_SEAL_WRITE;
	if (rnd(r, 100) < 8)
		seals |= GM_SEAL_FUTURE_WRITE;
	if (rnd(r, 100) < 4)
		seals |= 0x40U << rnd(r, 25);	/* unknown: never 0x20 */
	s->a = seals;
}

static void gen_io(struct run *r, struct step *s, enum kind kind)
{
	int64_t size = ksize(r);
	int64_t max;

	s->kind = kind;
	s->judge = SAME;
	s->b = size > 0 ? (int64_t)rnd(r, (uint64_t)size) : 0;
	max = size - s->b;
	if (max > (int64_t)sizeof(wbuf))
		max = sizeof(wbuf);
	s->c = max > 0 ? 1 + (int64_t)rnd(r, (uint64_t)max) : 0;
	s->data_seed = (unsigned int)gm_test_splitmix(&r->rng);
}

static void gen_step(struct run *r, struct step *s)
{
	uint64_t x = rnd(r, 100);

	memset(s, 0, sizeof(*s));
	if (x < 22)
		gen_ftruncate(r, s);
	else if (x < 50)
		gen_fallocate(r, s);
	else if (x < 58)
		gen_add_seals(r, s);
	else if (x < 88)
		gen_io(r, s, PWRITE);
	else
		gen_io(r, s, PREAD_CMP);
}

/* ---- running steps ---- */

static int64_t kret(int64_t ret)
{
	return ret < 0 ? -errno : ret;
}

static const char *kind_name[] = { "ftruncate", "fallocate", "add_seals", "pwrite", "pread" };

static void describe(const struct step *s, long i, int64_t k, int64_t g)
{
	printf("#   step %4ld: %s(", i, kind_name[s->kind]);
	switch (s->kind) {
	case FTRUNCATE:
		printf("%" PRId64, s->a);
		break;
	case FALLOCATE:
		printf("mode %#" PRIx64 ", %" PRId64 ", %" PRId64, s->a, s->b, s->c);
		break;
	case ADD_SEALS:
		printf("%#" PRIx64, s->a);
		break;
	default:
		printf("off %" PRId64 ", len %" PRId64, s->b, s->c);
	}
	if (s->judge == GUEST_ONLY)
		printf(") guest-only: %" PRId64 " (want %" PRId64 ")\n", g, s->want);
	else
		printf(") kernel %" PRId64 ", guest %" PRId64 "\n", k, g);
}

static void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	uint64_t st = seed;

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)gm_test_splitmix(&st) | 1;
}

/* Run @s on both sides.  Return: false with r->why on a mismatch. */
static bool run_step(struct run *r, const struct step *s, long i)
{
	int64_t k = 0, g = 0;
	bool ok;

	switch (s->kind) {
	case FTRUNCATE:
		if (s->judge == SAME)
			k = kret(ftruncate(r->p.kfd, s->a));
		g = gm_ftruncate(r->p.g, s->a);
		break;
	case FALLOCATE:
		if (s->judge == SAME)
			k = kret(fallocate(r->p.kfd, (int)s->a, s->b, s->c));
		g = gm_fallocate(r->p.g, (int)s->a, s->b, s->c);
		break;
	case ADD_SEALS:
		k = kret(fcntl(r->p.kfd, F_ADD_SEALS, (unsigned int)s->a));
		g = gm_add_seals(r->p.g, (unsigned int)s->a);
		break;
	case PWRITE:
		fill(wbuf, (size_t)s->c, s->data_seed);
		k = kret(pwrite(r->p.kfd, wbuf, (size_t)s->c, s->b));
		if (k == s->c)
			g = gm_file_guest_write(r->p.g, (uint64_t)s->b, wbuf, (size_t)s->c) ?: k;
		else if (k == -EPERM)
			g = k;	/* write-sealed: the guest's path is not the host's */
		else
			g = -ENOTRECOVERABLE;
		break;
	case PREAD_CMP:
		k = kret(pread(r->p.kfd, kbuf, (size_t)s->c, s->b));
		g = gm_file_guest_read(r->p.g, (uint64_t)s->b, gbuf, (size_t)s->c) ?: s->c;
		if (k == g && k > 0 && memcmp(kbuf, gbuf, (size_t)k))
			g = -EBADMSG;	/* same count, other bytes */
		break;
	}
	if (r->log)
		describe(s, i, k, g);
	ok = s->judge == SAME ? k == g : g == s->want;
	if (!ok)
		snprintf(r->why, sizeof(r->why), "step %ld %s: kernel %" PRId64 " (%s), guest %"
			 PRId64 " (%s)%s", i, kind_name[s->kind], k, k < 0 ? strerror((int)-k) : "ok",
			 g, g < 0 ? strerror((int)-g) : "ok",
			 s->judge == GUEST_ONLY ? " [guest-only step]" : "");
	return ok;
}

/* Size, seals and pages after every step; contents when @content. */
static bool compare_state(struct run *r, long i, bool content)
{
	struct stat st;
	int kseals = fcntl(r->p.kfd, F_GET_SEALS), gseals = gm_get_seals(r->p.g);
	uint64_t kpages, gpages = gm_file_pages_held(r->p.g);
	int64_t size;

	if (fstat(r->p.kfd, &st) < 0)
		fail_msg("fstat: %s", strerror(errno));
	kpages = (uint64_t)st.st_blocks / (GM_PAGE_SIZE / 512);
	if (st.st_size != gm_file_size(r->p.g)) {
		snprintf(r->why, sizeof(r->why), "after step %ld: size %lld vs %lld", i,
			 (long long)st.st_size, (long long)gm_file_size(r->p.g));
		return false;
	}
	if ((kseals & ~SEAL_EXEC) != (gseals & ~SEAL_EXEC) || !(gseals & GM_SEAL_GUEST)) {
		snprintf(r->why, sizeof(r->why), "after step %ld: seals %#x vs %#x", i, kseals,
			 gseals);
		return false;
	}
	if (kpages != gpages) {
		snprintf(r->why, sizeof(r->why), "after step %ld: pages held %llu vs %llu", i,
			 (unsigned long long)kpages, (unsigned long long)gpages);
		return false;
	}
	if (!content)
		return true;
	size = st.st_size;
	if (size > (int64_t)sizeof(kbuf))
		size = sizeof(kbuf);
	memset(kbuf, 0xee, (size_t)size);
	memset(gbuf, 0xdd, (size_t)size);
	if (pread(r->p.kfd, kbuf, (size_t)size, 0) != size ||
	    gm_file_guest_read(r->p.g, 0, gbuf, (size_t)size)) {
		snprintf(r->why, sizeof(r->why), "after step %ld: whole-file read failed", i);
		return false;
	}
	for (int64_t b = 0; b < size; b++) {
		if (kbuf[b] != gbuf[b]) {
			snprintf(r->why, sizeof(r->why), "after step %ld: byte %lld: kernel %#x, "
				 "guest %#x", i, (long long)b, kbuf[b], gbuf[b]);
			return false;
		}
	}
	return true;
}

static void pair_open(struct run *r)
{
	r->p.sealing = rnd(r, 4) != 0;
	r->p.kfd = memfd_create("diff-kernel", MFD_CLOEXEC |
				(r->p.sealing ? MFD_ALLOW_SEALING : 0));
	assert_true(r->p.kfd >= 0);
	assert_int_equal(gm_memfd_create("diff-guest", GM_MFD_GUEST |
					 (r->p.sealing ? GM_MFD_ALLOW_SEALING : 0), &r->p.g), 0);
}

static void pair_close(struct run *r)
{
	close(r->p.kfd);
	gm_file_put(r->p.g);
	r->p.g = NULL;
}

/*
 * Run the first @nsteps steps of the session @seed; with @final, compare
 * everything after the last one.  Return: the number of steps that ran
 * before a mismatch (== @nsteps when none, with no mismatch at the end).
 */
static long run_session(uint64_t seed, long nsteps, bool final, bool log, char *why)
{
	struct run r = { .rng = seed, .log = log };
	long i;
	bool ok = true;

	pair_open(&r);
	if (log)
		printf("#   memfd_create(%s)\n", r.p.sealing ? "MFD_ALLOW_SEALING" : "0");
	for (i = 0; i < nsteps && ok; i++) {
		struct step s;

		gen_step(&r, &s);
		ok = run_step(&r, &s, i) &&
		     compare_state(&r, i, (i + 1) % CHECK_EVERY == 0 || (final && i + 1 == nsteps));
	}
	if (ok && final && nsteps == 0)
		ok = compare_state(&r, -1, true);
	pair_close(&r);
	if (!ok) {
		snprintf(why, 512, "%s", r.why);
		return i - 1;
	}
	return nsteps;
}

/* The shortest prefix of session @seed that fails (it fails at @failed). */
static void shrink_and_fail(uint64_t base, int session, uint64_t seed, long failed,
			    const char *why)
{
	char why2[512];
	long n;

	printf("# MISMATCH: base seed %" PRIu64 ", session %d (seed %#" PRIx64 "): %s\n",
	       base, session, seed, why);
	for (n = 1; n <= failed + 1; n++)
		if (run_session(seed, n, true, false, why2) < n)
			break;
	if (n > failed + 1) {
		n = failed + 1;
		snprintf(why2, sizeof(why2), "%s", why);
	}
	printf("# shortest failing prefix: %ld steps (%s):\n", n, why2);
	run_session(seed, n, true, true, why2);
	fail_msg("differential mismatch; rerun with GM_DIFF_SEED=%" PRIu64, base);
}

static void test_differential(void **state)
{
	const char *env_seed = getenv("GM_DIFF_SEED"), *env_steps = getenv("GM_DIFF_STEPS");
	uint64_t base = env_seed ? strtoull(env_seed, NULL, 0) :
			(uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	long total = env_steps ? strtol(env_steps, NULL, 0) : DEFAULT_STEPS;
	int sessions = (int)((total + SESSION_STEPS - 1) / SESSION_STEPS);
	char why[512];

	printf("# GM_DIFF_SEED=%" PRIu64 " GM_DIFF_STEPS=%ld (%d files of %d steps)\n",
	       base, total, sessions, SESSION_STEPS);
	for (int i = 0; i < sessions; i++) {
		uint64_t st = base + (uint64_t)i;
		uint64_t seed = gm_test_splitmix(&st);
		long steps = total - (long)i * SESSION_STEPS;
		long ran;

		if (steps > SESSION_STEPS)
			steps = SESSION_STEPS;
		ran = run_session(seed, steps, true, false, why);
		if (ran < steps)
			shrink_and_fail(base, i, seed, ran, why);
	}
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
