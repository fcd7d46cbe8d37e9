// SPDX-License-Identifier: MIT
/*
 * Differential test against the kernel's guest_memfd: seeded random
 * sequences of create, fallocate (allocate, punch, bad modes), ftruncate,
 * bind (a private memslot over the file) and convert (the private
 * attribute), run side by side on a guestmem guest-only file in an emulator
 * VM and on a guest_memfd in a KVM VM of the type that has it.  Every
 * return value and errno must agree, except where the README ("Semantics worth
 * knowing") documents a deliberate difference:
 * for those steps the kernel's answer is checked against what the README
 * says it is, and guestmem's side (memfd semantics, checked against a
 * kernel memfd by store-differential) is not run, so that both sides stay
 * in the same state.
 *
 * Needs /dev/kvm with guest_memfd (in CI: the KVM lab's kernel); skips
 * with the reason elsewhere.  Environment: GM_GMEM_SEED, GM_GMEM_STEPS.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "array.h"
#include "vmtest.h"
#include "kvm-caps.h"
#include "kvm-uapi.h"

#define PG		((int64_t)GM_PAGE_SIZE)
#define FILE_PAGES	64		/* the most a file has */
#define GPA_SPACE	(64 * MiB)	/* where slots go */
#define NR_SLOTS	4
#define SESSION_STEPS	250
#define DEFAULT_STEPS	10000
#define KEEP		GM_FALLOC_KEEP_SIZE
#define PUNCH_ONLY	GM_FALLOC_PUNCH_HOLE

enum kind { FALLOCATE, FTRUNCATE, BIND, CONVERT, NR_KINDS };

/* How a step is judged. */
enum judge {
	SAME,		/* both sides run it; results must agree */
	KERNEL_ONLY,	/* a documented difference: the kernel must answer @want */
};

struct step {
	enum kind kind;
	enum judge judge;
	int64_t a, b, c, d;	/* fallocate(a=mode, b=off, c=len); ftruncate(a);
				   bind(slot a, gpa b, size c, offset d); convert(gpa a, size b,
				   attributes c, flags d) */
	int want;		/* KERNEL_ONLY: the documented answer */
	const char *why;	/* KERNEL_ONLY: the documented difference */
};

/* The model both sides are in: the file's size and the bound slots. */
struct slot_model {
	bool used;
	uint64_t gpa, size, offset;
};

struct session {
	uint64_t rng;
	int64_t size;
	struct slot_model slots[NR_SLOTS];
	/* The kernel's side. */
	int kvm, kvm_vm, gmem;
	uint8_t *hva;		/* userspace_addr for the slots' shared side */
	/* guestmem's side. */
	struct gm_vm *vm;
	struct gm_file *shared, *private;
};

static int gmem_vm_type;

static uint64_t rnd(struct session *s, uint64_t n)
{
	return n ? gm_test_splitmix(&s->rng) % n : 0;
}

/* An offset or length in pages, now and then off by some bytes. */
static int64_t pages_or_odd(struct session *s, uint64_t max_pages)
{
	int64_t v = (int64_t)rnd(s, max_pages + 1) * PG;

	return rnd(s, 12) ? v : v + (int64_t)rnd(s, PG - 1) + 1;
}

static int kret(long ret)
{
	return ret < 0 ? -errno : (int)ret;
}

/* ---- generating steps ---- */

static const int bad_modes[] = { PUNCH_ONLY, 0x04, 0x08, 0x10, 0x20, 0x40, 0x11, 0x41 };

static void gen_fallocate(struct session *s, struct step *st)
{
	int pick = (int)rnd(s, 10);

	st->kind = FALLOCATE;
	st->judge = SAME;
	st->a = pick < 4 ? KEEP : pick < 8 ? PUNCH : pick < 9 ? 0 :
		bad_modes[rnd(s, GM_ARRAY_SIZE(bad_modes))];
	st->b = pages_or_odd(s, FILE_PAGES);
	st->c = pages_or_odd(s, FILE_PAGES / 2);
	if (!rnd(s, 20))
		st->b = -PG;
	if (!rnd(s, 20))
		st->c = rnd(s, 2) ? 0 : -PG;
	if (st->b < 0 || st->c <= 0 || (st->a & ~PUNCH) ||
	    ((st->a & PUNCH_ONLY) && !(st->a & KEEP)))
		return;		/* the VFS's checks, alike for both */
	if (!(st->a & KEEP)) {
		st->judge = KERNEL_ONLY;
		st->want = -EOPNOTSUPP;
		st->why = "guest_memfd refuses fallocate without KEEP_SIZE; a guest-only "
			  "file grows, as a memfd does";
		return;
	}
	if (st->a == KEEP && !((st->b | st->c) & (PG - 1)) && st->b + st->c > s->size) {
		st->judge = KERNEL_ONLY;
		st->want = -EINVAL;
		st->why = "guest_memfd refuses to allocate past its end; a guest-only file "
			  "allocates there, as a memfd does with KEEP_SIZE";
	}
}

static void gen_ftruncate(struct session *s, struct step *st)
{
	st->kind = FTRUNCATE;
	st->a = pages_or_odd(s, FILE_PAGES);
	if (!rnd(s, 10))
		st->a = -1;
	st->judge = KERNEL_ONLY;
	st->want = -EINVAL;
	st->why = "guest_memfd's size is fixed at creation; a guest-only file's is not, "
		  "as a memfd's";
}

static void gen_bind(struct session *s, struct step *st)
{
	st->kind = BIND;
	st->judge = SAME;
	st->a = (int64_t)rnd(s, NR_SLOTS);
	if (s->slots[st->a].used && rnd(s, 3)) {
		st->c = 0;	/* delete it */
		return;
	}
	st->b = (int64_t)rnd(s, GPA_SPACE / (2 * MiB)) * (int64_t)(2 * MiB) +
		(int64_t)rnd(s, 4) * 4 * PG;
	st->c = (int64_t)(rnd(s, 16) + 1) * PG;
	st->d = pages_or_odd(s, FILE_PAGES);
	if (!rnd(s, 16))
		st->b += PG / 2;
}

/* Does [gpa, gpa + size) lie in bound slots only? */
static bool covered(const struct session *s, uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size;

	while (gpa < end) {
		const struct slot_model *m = NULL;

		for (int i = 0; i < NR_SLOTS; i++)
			if (s->slots[i].used && gpa >= s->slots[i].gpa &&
			    gpa < s->slots[i].gpa + s->slots[i].size)
				m = &s->slots[i];
		if (!m)
			return false;
		gpa = m->gpa + m->size;
	}
	return true;
}

static void gen_convert(struct session *s, struct step *st)
{
	st->kind = CONVERT;
	st->judge = SAME;
	/* Mostly inside a bound slot, where both sides have pages to convert. */
	st->a = (int64_t)rnd(s, GPA_SPACE / PG) * PG;
	for (int i = 0; i < NR_SLOTS && rnd(s, 4); i++)
		if (s->slots[i].used)
			st->a = (int64_t)(s->slots[i].gpa + rnd(s, s->slots[i].size / PG) * PG);
	st->b = (int64_t)(rnd(s, 8) + 1) * PG;
	st->c = rnd(s, 2) ? GM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	if (!rnd(s, 20))
		st->c = 1 << rnd(s, 8);
	st->d = !rnd(s, 30);
	if (!rnd(s, 20))
		st->b = rnd(s, 2) ? 0 : PG / 2;
	if (!rnd(s, 20))
		st->a += PG / 2;
	if (st->d || (st->c & ~GM_MEMORY_ATTRIBUTE_PRIVATE) || st->b <= 0 ||
	    ((st->a | st->b) & (PG - 1)))
		return;		/* refused alike */
	if (st->c && !covered(s, (uint64_t)st->a, (uint64_t)st->b)) {
		st->judge = KERNEL_ONLY;
		st->want = 0;
		st->why = "KVM keeps attributes for any guest address; guestmem keeps them in "
			  "memslots and refuses to make private what no slot can back";
	}
}

static void gen_step(struct session *s, struct step *st)
{
	memset(st, 0, sizeof(*st));
	switch (rnd(s, 10)) {
	case 0: case 1: case 2:
		gen_fallocate(s, st);
		break;
	case 3:
		gen_ftruncate(s, st);
		break;
	case 4: case 5: case 6:
		gen_bind(s, st);
		break;
	default:
		gen_convert(s, st);
	}
}

/* ---- running them ---- */

static int kernel_bind(struct session *s, const struct step *st)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = (uint32_t)st->a, .flags = KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = (uint64_t)st->b, .memory_size = (uint64_t)st->c,
		.userspace_addr = (uintptr_t)(s->hva + (st->c ? st->b & ~(PG - 1) : 0)),
		.guest_memfd = (uint32_t)s->gmem, .guest_memfd_offset = (uint64_t)st->d,
	};

	return kret(ioctl(s->kvm_vm, KVM_SET_USER_MEMORY_REGION2, &r));
}

static int kernel_side(struct session *s, const struct step *st)
{
	struct kvm_memory_attributes attr;

	switch (st->kind) {
	case FALLOCATE:
		return kret(fallocate(s->gmem, (int)st->a, st->b, st->c));
	case FTRUNCATE:
		return kret(ftruncate(s->gmem, st->a));
	case BIND:
		return kernel_bind(s, st);
	default:
		attr = (struct kvm_memory_attributes) {
			.address = (uint64_t)st->a, .size = (uint64_t)st->b,
			.attributes = (uint64_t)st->c, .flags = (uint64_t)st->d,
		};
		return kret(ioctl(s->kvm_vm, KVM_SET_MEMORY_ATTRIBUTES, &attr));
	}
}

static int guestmem_side(struct session *s, const struct step *st)
{
	struct gm_memslot m = { .slot = (uint32_t)st->a };

	switch (st->kind) {
	case FALLOCATE:
		return gm_fallocate(s->private, (int)st->a, st->b, st->c);
	case FTRUNCATE:
		return gm_ftruncate(s->private, st->a);
	case BIND:
		if (st->c) {
			m.flags = GM_SLOT_PRIVATE;
			m.gpa = (uint64_t)st->b;
			m.size = (uint64_t)st->c;
			m.shared_file = s->shared;
			m.shared_offset = (uint64_t)st->b & ~(PG - 1);
			m.private_file = s->private;
			m.private_offset = (uint64_t)st->d;
		}
		return gm_vm_set_memslot(s->vm, &m);
	default:
		return gm_vm_set_memory_attributes(s->vm, (uint64_t)st->a, (uint64_t)st->b,
						   (uint64_t)st->c, (uint64_t)st->d);
	}
}

/* Both sides succeeded: the model follows. */
static void model_apply(struct session *s, const struct step *st)
{
	struct slot_model *m;

	if (st->kind != BIND)
		return;
	m = &s->slots[st->a];
	*m = (struct slot_model) {
		.used = st->c != 0, .gpa = (uint64_t)st->b, .size = (uint64_t)st->c,
		.offset = (uint64_t)st->d,
	};
}

static const char *const kind_name[] = { "fallocate", "ftruncate", "bind", "convert" };

static void describe(const struct step *st, long i, int k, int g)
{
	fprintf(stderr, "  step %ld: %s(%" PRId64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64
		"): kernel %d, guestmem %d\n", i, kind_name[st->kind], st->a, (uint64_t)st->b,
		(uint64_t)st->c, (uint64_t)st->d, k, g);
}

/* ---- a session: both sides made, SESSION_STEPS steps, both sides gone ---- */

static void session_open(struct session *s, uint64_t seed)
{
	struct kvm_create_guest_memfd args = { 0 };

	memset(s, 0, sizeof(*s));
	s->rng = seed;
	s->size = (int64_t)(rnd(s, FILE_PAGES) + 1) * PG;

	s->kvm = gm_kvm_open();
	assert_true(s->kvm >= 0);
	s->kvm_vm = gm_kvm_create_vm(s->kvm, (unsigned long)gmem_vm_type);
	assert_true(s->kvm_vm >= 0);
	args.size = (uint64_t)s->size;
	s->gmem = ioctl(s->kvm_vm, KVM_CREATE_GUEST_MEMFD, &args);
	assert_true(s->gmem >= 0);
	s->hva = mmap(NULL, GPA_SPACE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(s->hva != MAP_FAILED);

	assert_int_equal(gm_vm_create(GM_ENGINE_EMU, &s->vm), 0);
	assert_int_equal(gm_memfd_create("shared", GM_MFD_CLOEXEC, &s->shared), 0);
	assert_int_equal(gm_ftruncate(s->shared, GPA_SPACE + 2 * MiB), 0);
	assert_int_equal(gm_memfd_create("private", GM_MFD_GUEST, &s->private), 0);
	assert_int_equal(gm_ftruncate(s->private, s->size), 0);
}

static void session_close(struct session *s)
{
	gm_vm_destroy(s->vm);
	gm_file_put(s->shared);
	gm_file_put(s->private);
	munmap(s->hva, GPA_SPACE);
	close(s->gmem);
	close(s->kvm_vm);
	close(s->kvm);
}

/* Return: the number of steps in which a documented difference was checked. */
static long run_session(uint64_t seed, long nsteps, long first)
{
	struct session s;
	long documented = 0;

	session_open(&s, seed);
	for (long i = 0; i < nsteps; i++) {
		struct step st;
		int k, g;

		gen_step(&s, &st);
		k = kernel_side(&s, &st);
		if (st.judge == KERNEL_ONLY) {
			if (k != st.want) {
				describe(&st, first + i, k, 1);
				fail_msg("seed %#" PRIx64 ": the kernel answered %d where the "
					 "README says %d (%s)", seed, k, st.want, st.why);
			}
			documented++;
			continue;
		}
		g = guestmem_side(&s, &st);
		if (k != g) {
			describe(&st, first + i, k, g);
			fail_msg("seed %#" PRIx64 ": guestmem answered %d, the kernel %d", seed, g, k);
		}
		if (!k)
			model_apply(&s, &st);
	}
	session_close(&s);
	return documented;
}

static void test_differential(void **state)
{
	const char *env = getenv("GM_GMEM_SEED");
	uint64_t base = env ? strtoull(env, NULL, 0) : 0x6d656d67ULL;
	long steps = getenv("GM_GMEM_STEPS") ? atol(getenv("GM_GMEM_STEPS")) : DEFAULT_STEPS;
	long done = 0, documented = 0;

	for (int n = 0; done < steps; n++) {
		long k = steps - done < SESSION_STEPS ? steps - done : SESSION_STEPS;

		documented += run_session(base + (uint64_t)n * 0x1000193, k, done);
		done += k;
	}
	printf("  %ld steps (seed %#" PRIx64 "), all alike but %ld of documented differences\n",
	       done, base, documented);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_differential) };
	struct gm_kvm_caps caps;
	const char *why;

	if (!gm_engine_available(GM_ENGINE_EMU, &why))
		gm_test_skip("the emulator engine holds guestmem's side: %s", why);
	gm_kvm_probe(&caps);
	if (!caps.guest_memfd)
		gm_test_skip("no guest_memfd to compare with: %s", caps.why ? caps.why : "?");
	gmem_vm_type = caps.guest_memfd_vm_type;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
