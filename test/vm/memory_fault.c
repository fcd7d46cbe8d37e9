// SPDX-License-Identifier: MIT
/*
 * Memory-fault exits, on the engine the argument names: a guest of one load
 * or store (movabs, 64-bit address) then the exit hypercall.  An access
 * with no memslot, a private access to a shared page and a shared access to
 * a private page each end the run with GM_EXIT_MEMORY_FAULT (gpa, size,
 * private); a memory_fault handler that converts the page and returns 0
 * lets the guest go on and exit normally.  On kvm, whether KVM reports the
 * access as an MMIO exit or as KVM_EXIT_MEMORY_FAULT, the VMM sees the same
 * exit.
 */
#include <inttypes.h>
#include <stdio.h>

#include "array.h"
#include "vmtest.h"

#define RAM_SIZE	(2 * MiB)
#define NO_SLOT		0x50000000ULL	/* below 2 GiB (paged), in no slot */
#define SHARED		GM_GUEST_SHARED_BIT

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

struct guest {
	uint8_t code[32];
	size_t len;
};

/* movabs addr, %rax (or movabs %rax, addr when @write); exit 0. */
static struct guest one_access(uint64_t addr, bool write)
{
	static const uint8_t tail[] = { GUEST_EXIT_OK };
	struct guest g = { .code = { 0x48, write ? 0xa3 : 0xa1 } };

	for (int i = 0; i < 8; i++)
		g.code[2 + i] = (uint8_t)(addr >> (8 * i));
	memcpy(g.code + 10, tail, sizeof(tail));
	g.len = 10 + sizeof(tail);
	return g;
}

struct fault_log {
	unsigned int calls;
	struct gm_exit last;
	int ret;		/* what the handler returns after converting */
	bool convert;
};

/* Convert the page to what the guest asked for, then resume (or not). */
static int on_fault(void *opaque, struct gm_vm *vm, unsigned int vcpu, const struct gm_exit *e)
{
	struct fault_log *log = opaque;

	log->calls++;
	log->last = *e;
	if (log->convert)
		assert_int_equal(gm_vm_set_memory_attributes(vm, e->fault.gpa, e->fault.size,
					e->fault.private ? PRIVATE : 0, 0), 0);
	return log->ret;
}

/*
 * Boot @g on a VM whose RAM slot is private-capable and (if @private) all
 * private, run it with @log as the handler (NULL: none).  Return gm_vm_run's
 * result; the vCPU's exit in @exit.
 */
static int run_guest(struct vmtest *t, const struct guest *g, bool private,
		     struct fault_log *log, struct gm_exit *exit)
{
	struct gm_vm_handlers h = { .opaque = log, .memory_fault = log ? on_fault : NULL };

	vmtest_create(t, engine_arg, RAM_SIZE, true);
	if (private)
		assert_int_equal(gm_vm_set_memory_attributes(t->vm, GM_GUEST_RAM_BASE, RAM_SIZE,
							     PRIVATE, 0), 0);
	vmtest_boot(t, g->code, g->len, 1, 0, 0);
	return gm_vm_run(t->vm, log ? &h : NULL, exit);
}

static void assert_fault(const struct gm_exit *e, uint64_t gpa, bool private)
{
	if (e->reason != GM_EXIT_MEMORY_FAULT)
		fail_msg("exit reason %d (status %" PRId64 "), expected a memory fault", e->reason,
			 e->status);
	assert_int_equal(e->fault.gpa, gpa);
	assert_int_equal(e->fault.size, GM_PAGE_SIZE);
	assert_int_equal(e->fault.private, private);
}

static const struct {
	const char *name;
	uint64_t addr;		/* what the guest uses */
	bool ram_private;	/* RAM's attribute */
	uint64_t gpa;		/* reported */
	bool private;		/* reported */
} stops[] = {
	{ "no slot, plain address", NO_SLOT + 0x123, false, NO_SLOT, true },
	{ "no slot, shared alias", (NO_SLOT + 0x2000) | SHARED, false, NO_SLOT + 0x2000, false },
	{ "private access, shared page", GM_GUEST_RAM_BASE + 0x3008, false,
	  GM_GUEST_RAM_BASE + 0x3000, true },
	{ "shared access, private page", (GM_GUEST_RAM_BASE + 0x5010) | SHARED, true,
	  GM_GUEST_RAM_BASE + 0x5000, false },
};

/* With no handler, or one that refuses, the run stops with the fault. */
static void test_stops(void **state)
{
	for (size_t i = 0; i < GM_ARRAY_SIZE(stops); i++)
		for (int write = 0; write <= 1; write++)
			for (int handled = 0; handled <= 1; handled++) {
				struct fault_log log = { .ret = -EACCES };
				struct guest g = one_access(stops[i].addr, write);
				struct gm_vm_stats s;
				struct gm_exit e;
				struct vmtest t;

				printf("  %s, %s, %s\n", stops[i].name, write ? "write" : "read",
				       handled ? "handler refuses" : "no handler");
				assert_int_equal(run_guest(&t, &g, stops[i].ram_private,
							   handled ? &log : NULL, &e), -EIO);
				assert_fault(&e, stops[i].gpa, stops[i].private);
				if (handled) {
					assert_int_equal(log.calls, 1);
					assert_fault(&log.last, stops[i].gpa, stops[i].private);
				}
				gm_vm_get_stats(t.vm, &s);
				assert_int_equal(s.memory_fault_exits, 1);
				vmtest_destroy(&t);
				gm_test_assert_no_frames();
			}
}

/* A handler that converts and returns 0: the access completes, the guest exits 0. */
static void test_handler_converts(void **state)
{
	static const struct {
		const char *name;
		uint64_t addr;
		bool ram_private;
		uint64_t page;
		int64_t attr_after;
	} cases[] = {
		{ "private access, shared page", GM_GUEST_RAM_BASE + 0x7000, false,
		  GM_GUEST_RAM_BASE + 0x7000, PRIVATE },
		{ "shared access, private page", (GM_GUEST_RAM_BASE + 0x9000) | SHARED, true,
		  GM_GUEST_RAM_BASE + 0x9000, 0 },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++)
		for (int write = 0; write <= 1; write++) {
			struct fault_log log = { .convert = true };
			struct guest g = one_access(cases[i].addr, write);
			struct gm_exit e;
			struct vmtest t;
			int ret;

			printf("  %s, %s, handler converts\n", cases[i].name, write ? "write" : "read");
			ret = run_guest(&t, &g, cases[i].ram_private, &log, &e);
			if (ret || e.reason != GM_EXIT_GUEST_EXIT || e.status)
				fail_msg("%s: gm_vm_run %d, exit reason %d status %" PRId64,
					 cases[i].name, ret, e.reason, e.status);
			assert_int_equal(log.calls, 1);
			assert_int_equal(log.last.fault.gpa, cases[i].page);
			assert_int_equal(gm_vm_get_memory_attributes(t.vm, cases[i].page),
					 cases[i].attr_after);
			/* Only that page changed. */
			assert_int_equal(gm_vm_get_memory_attributes(t.vm, cases[i].page + GM_PAGE_SIZE),
					 cases[i].ram_private ? PRIVATE : 0);
			vmtest_destroy(&t);
			gm_test_assert_no_frames();
		}
}

/*
 * One vCPU's fault ends the run for all: vCPU 0 reads an address with no
 * memslot while vCPU 1 spins in guest code without ever exiting on its own.
 */
static void test_fault_stops_other_vcpus(void **state)
{
	static const uint8_t code[] = {
		0x48, 0x85, 0xd2,			/* test %rdx, %rdx (vCPU index) */
		0x75, 0x09,				/* jnz spin */
		0x48, 0x8b, 0x04, 0x25,			/* mov NO_SLOT, %rax */
		(uint8_t)NO_SLOT, (uint8_t)(NO_SLOT >> 8), (uint8_t)(NO_SLOT >> 16),
		(uint8_t)(NO_SLOT >> 24),
		0xf4,					/* hlt */
		0xeb, 0xfe,				/* spin: jmp spin */
	};
	struct gm_exit e[2];
	struct vmtest t;

	vmtest_create(&t, engine_arg, RAM_SIZE, true);
	vmtest_boot(&t, code, sizeof(code), 2, 0, 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, e), -EIO);
	assert_fault(&e[0], NO_SLOT, true);
	assert_int_equal(e[1].reason, GM_EXIT_STOPPED);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stops),
		cmocka_unit_test(test_handler_converts),
		cmocka_unit_test(test_fault_stops_other_vcpus),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
