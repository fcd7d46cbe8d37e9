/* SPDX-License-Identifier: MIT */
/*
 * gm_vm_stop(): a guest spinning in `jmp .` on every vCPU is stopped from
 * another thread, from a signal handler, and before the run starts; each
 * vCPU exits GM_EXIT_STOPPED at the spinning instruction and gm_vm_run()
 * returns -EINTR.  The application's own use of SIGUSR1 (ignored, or
 * handled) changes nothing: the kvm engine kicks vCPUs with a signal of
 * its own.  On the engine named by the program's argument.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "vmtest.h"

#define VCPUS		2
#define SPIN_US		(200 * 1000)

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

static const uint8_t spin_guest[] = { 0xeb, 0xfe };	/* 1: jmp 1b */

static struct gm_vm *_Atomic signalled_vm;
static _Atomic unsigned int usr1_calls;

static void on_alarm(int sig)
{
	gm_vm_stop(atomic_load(&signalled_vm));
}

static void on_usr1(int sig)
{
	atomic_fetch_add(&usr1_calls, 1);
}

static void *stop_later(void *arg)
{
	usleep(SPIN_US);
	gm_vm_stop(arg);
	return NULL;
}

static void *alarm_later(void *arg)
{
	usleep(SPIN_US);
	pthread_kill(*(pthread_t *)arg, SIGALRM);
	return NULL;
}

enum how { FROM_THREAD, FROM_SIGNAL, BEFORE_RUN };

static void stop_spinning(enum gm_engine_kind engine, enum how how)
{
	struct gm_exit exits[VCPUS];
	pthread_t helper, self = pthread_self();
	struct vmtest t;

	vmtest_create(&t, engine, 2 * MiB, false);
	vmtest_boot(&t, spin_guest, sizeof(spin_guest), VCPUS, 0, 0);
	atomic_store(&signalled_vm, t.vm);
	if (how == BEFORE_RUN)
		assert_int_equal(gm_vm_stop(t.vm), 0);
	else
		assert_int_equal(pthread_create(&helper, NULL,
						how == FROM_THREAD ? stop_later : alarm_later,
						how == FROM_THREAD ? (void *)t.vm : (void *)&self), 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, exits), -EINTR);
	if (how != BEFORE_RUN)
		pthread_join(helper, NULL);
	for (int i = 0; i < VCPUS; i++) {
		assert_int_equal(exits[i].reason, GM_EXIT_STOPPED);
		assert_int_equal(exits[i].rip, GM_GUEST_CODE_BASE);
	}
	vmtest_destroy(&t);
}

static void stop_all_ways(enum gm_engine_kind engine)
{
	stop_spinning(engine, FROM_THREAD);
	stop_spinning(engine, FROM_SIGNAL);
	stop_spinning(engine, BEFORE_RUN);
}

static void test_stop(void **state)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	stop_all_ways(engine_arg);
}

/* The application ignores SIGUSR1, then handles it: vCPUs still stop. */
static void test_stop_whatever_sigusr1(void **state)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, handler = { .sa_handler = on_usr1 };

	assert_int_equal(sigaction(SIGUSR1, &ign, NULL), 0);
	stop_all_ways(engine_arg);
	assert_int_equal(sigaction(SIGUSR1, &handler, NULL), 0);
	stop_all_ways(engine_arg);
	assert_int_equal(atomic_load(&usr1_calls), 0);
}

static void test_stop_null(void **state)
{
	assert_int_equal(gm_vm_stop(NULL), -EFAULT);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_null),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_stop_whatever_sigusr1),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
