/* SPDX-License-Identifier: MIT */
/* The VM object: creation, engines, running the vCPUs, counters. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm-internal.h"

/* The engine for each kind the caller may ask for by name. */
static const struct gm_engine_ops *engine_of(enum gm_engine_kind kind)
{
	switch (kind) {
	case GM_ENGINE_KVM:
		return &gm_kvm_engine;
	case GM_ENGINE_EMU:
		return &gm_emu_engine;
	default:
		return NULL;
	}
}

int gm_engine_available(enum gm_engine_kind engine, const char **why)
{
	const struct gm_engine_ops *ops;
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (engine == GM_ENGINE_AUTO)
		return gm_engine_available(GM_ENGINE_KVM, why) ||
		       gm_engine_available(GM_ENGINE_EMU, why);
	ops = engine_of(engine);
	if (!ops) {
		*why = "unknown engine";
		return 0;
	}
	return ops->available(why);
}

/* AUTO: kvm where it works, else the emulator. */
static const struct gm_engine_ops *pick_engine(enum gm_engine_kind kind)
{
	if (kind == GM_ENGINE_AUTO)
		kind = gm_engine_available(GM_ENGINE_KVM, NULL) ? GM_ENGINE_KVM : GM_ENGINE_EMU;
	return gm_engine_available(kind, NULL) ? engine_of(kind) : NULL;
}

int gm_vm_create(enum gm_engine_kind kind, struct gm_vm **vmp)
{
	pthread_rwlockattr_t attr;
	struct gm_vm *vm;
	int ret;

	if (!vmp)
		return -EFAULT;
	if ((unsigned int)kind > GM_ENGINE_EMU)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->engine = pick_engine(kind);
	if (!vm->engine) {
		free(vm);
		return -ENODEV;
	}
	/*
	 * Readers first (glibc's default, made explicit): a memslot change
	 * waiting for a long fault must not stall every other vCPU's faults.
	 */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_READER_NP);
	pthread_rwlock_init(&vm->slots_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&vm->memslot_lock, NULL);
	pthread_mutex_init(&vm->convert_lock, NULL);
	pthread_mutex_init(&vm->mmu_lock, NULL);
	pthread_mutex_init(&vm->bind_lock, NULL);
	vm->owner.vm = vm;
	vm->uffd = -1;
	gm_vm_prefault_init(vm);
	ret = vm->engine->vm_init(vm);
	if (ret) {
		pthread_rwlock_destroy(&vm->slots_lock);
		pthread_mutex_destroy(&vm->memslot_lock);
	pthread_mutex_destroy(&vm->convert_lock);
		pthread_mutex_destroy(&vm->mmu_lock);
		pthread_mutex_destroy(&vm->bind_lock);
		free(vm);
		return ret;
	}
	*vmp = vm;
	return 0;
}

void gm_vm_destroy(struct gm_vm *vm)
{
	if (!vm)
		return;
	/* Slots first: dropping them unmaps from the vCPUs' engines. */
	gm_vm_slots_release(vm);
	gm_vm_uffd_release(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vm->engine->vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	gm_vm_launch_free(vm);
	vm->engine->vm_destroy(vm);
	pthread_rwlock_destroy(&vm->slots_lock);
	pthread_mutex_destroy(&vm->memslot_lock);
	pthread_mutex_destroy(&vm->convert_lock);
	pthread_mutex_destroy(&vm->mmu_lock);
	pthread_mutex_destroy(&vm->bind_lock);
	pthread_mutex_destroy(&vm->prefault_lock);
	pthread_cond_destroy(&vm->prefault_cond);
	free(vm);
}

int gm_vm_kvm_fd(struct gm_vm *vm)
{
	if (!vm)
		return -EFAULT;
	return vm->engine->vm_fd ? vm->engine->vm_fd(vm) : -ENODEV;
}

/* ---- what engines reach of the VM (engine.h) ---- */

unsigned int gm_vm_nr_vcpus(struct gm_vm *vm)
{
	return vm->nr_vcpus;
}

struct gm_vcpu *gm_vm_vcpu(struct gm_vm *vm, unsigned int index)
{
	return index < vm->nr_vcpus ? &vm->vcpus[index] : NULL;
}

void *gm_vm_engine_data(struct gm_vm *vm)
{
	return vm->engine_vm;
}

void gm_vm_set_engine_data(struct gm_vm *vm, void *data)
{
	vm->engine_vm = data;
}

bool gm_vm_runs_on(struct gm_vm *vm, const struct gm_engine_ops *engine)
{
	return vm && vm->engine == engine;
}

bool gm_vm_stopping(struct gm_vm *vm)
{
	return atomic_load(&vm->stop);
}

int gm_vm_for_each_slot(struct gm_vm *vm, int (*fn)(struct gm_slot *slot, unsigned int id,
						     void *arg), void *arg)
{
	int ret = 0;

	gm_rwlock_rdlock(&vm->slots_lock, GM_LOCK_SLOTS);
	for (unsigned int i = 0; i < GM_VM_MAX_SLOTS && !ret; i++)
		if (vm->slots[i].used)
			ret = fn(&vm->slots[i], i, arg);
	gm_rwlock_unlock(&vm->slots_lock, GM_LOCK_SLOTS);
	return ret;
}

const char *gm_vm_engine_name(struct gm_vm *vm)
{
	return vm ? vm->engine->name : "none";
}

int gm_vm_stop(struct gm_vm *vm)
{
	if (!vm)
		return -EFAULT;
	/* Only atomics and the engine's kick: fine from a signal handler. */
	atomic_store(&vm->stop_requested, true);
	if (!atomic_exchange(&vm->stop, true) && vm->engine->stop)
		vm->engine->stop(vm);
	return 0;
}

void gm_vm_fail(struct gm_vm *vm, int err)
{
	int none = 0;

	atomic_compare_exchange_strong(&vm->fail_error, &none, err);
	if (!atomic_exchange(&vm->stop, true) && vm->engine->stop)
		vm->engine->stop(vm);
}

static void *vcpu_thread(void *arg)
{
	struct gm_vcpu *vcpu = arg;
	struct gm_vm *vm = vcpu->vm;
	int ret = 0;

	vcpu->self = pthread_self();
	atomic_store(&vcpu->tid, gettid());
	atomic_store_explicit(&vcpu->started, true, memory_order_release);
	memset(&vcpu->exit, 0, sizeof(vcpu->exit));
	/* Restored after it had ended: it ends so again, running nothing. */
	if (vcpu->ended)
		vcpu->exit = vcpu->ended_exit;
	else
		ret = vm->engine->vcpu_run(vcpu);
	if (ret < 0 && vcpu->exit.reason == GM_EXIT_NONE) {
		vcpu->exit.reason = GM_EXIT_ERROR;
		vcpu->exit.status = ret;
	}
	/* Stopped because a lazy restore's page failed: that is its error. */
	if (vcpu->exit.reason == GM_EXIT_STOPPED && atomic_load(&vm->fail_error)) {
		vcpu->exit.reason = GM_EXIT_ERROR;
		vcpu->exit.status = atomic_load(&vm->fail_error);
	}
	/* One vCPU failing ends the run for all; on a PC, one vCPU's end too. */
	if ((vcpu->exit.reason != GM_EXIT_GUEST_EXIT || vm->machine) &&
	    !atomic_exchange(&vm->stop, true) && vm->engine->stop)
		vm->engine->stop(vm);
	return NULL;
}

/*
 * 0 when every vCPU exited; on a PC, when one ended the machine (exit or
 * reset) and the others were stopped by it.
 */
static int run_result(struct gm_vm *vm, const struct gm_exit *exits, unsigned int n)
{
	bool ended = false;

	for (unsigned int i = 0; i < n; i++) {
		enum gm_exit_reason r = exits[i].reason;

		if (r == GM_EXIT_GUEST_EXIT || (vm->machine && r == GM_EXIT_RESET))
			ended = true;
		else if (!vm->machine || r != GM_EXIT_STOPPED)
			return -EIO;
	}
	return ended ? 0 : -EIO;
}

int gm_vm_run(struct gm_vm *vm, const struct gm_vm_handlers *handlers, struct gm_exit *exits)
{
	unsigned int started = 0;
	int ret = 0;

	if (!vm || !exits)
		return -EFAULT;
	/* vCPUs start from the boot state once; a second run would not. */
	if (!vm->nr_vcpus || vm->ran)
		return -EINVAL;
	gm_mutex_lock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	vm->ran = true;		/* launch populate ends here */
	gm_mutex_unlock(&vm->memslot_lock, GM_LOCK_MEMSLOT);
	atomic_store(&vm->running, true);
	vm->handlers = handlers;
	/* vm->stop stays as it is: a gm_vm_stop() before the run ends it at once. */
	/* Without the helper thread the guest only runs slower: not an error. */
	gm_vm_prefault_start(vm);
	for (; started < vm->nr_vcpus; started++) {
		ret = -pthread_create(&vm->vcpus[started].thread, NULL, vcpu_thread,
				      &vm->vcpus[started]);
		if (ret) {
			atomic_store(&vm->stop, true);
			break;
		}
	}
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(vm->vcpus[i].thread, NULL);
		exits[i] = vm->vcpus[i].exit;
	}
	if (!ret)
		ret = run_result(vm, exits, started);
	gm_vm_prefault_stop(vm);
	vm->handlers = NULL;
	atomic_store(&vm->running, false);
	if (ret == -EIO && atomic_load(&vm->stop_requested))
		ret = -EINTR;
	return ret;
}

void gm_vm_get_stats(struct gm_vm *vm, struct gm_vm_stats *st)
{
	if (!vm || !st)
		return;
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 4; i++)
		st->faults[i] = atomic_load(&vm->stats.faults[i]);
	st->retries = atomic_load(&vm->stats.retries);
	st->invalidations = atomic_load(&vm->stats.invalidations);
	st->conversions = atomic_load(&vm->stats.conversions);
	st->memory_fault_exits = atomic_load(&vm->stats.memory_fault_exits);
	st->mmio_completions = atomic_load(&vm->stats.mmio_completions);
	st->prefaults = atomic_load(&vm->stats.prefaults);
	st->hypercalls = atomic_load(&vm->stats.hypercalls);
	st->frames_mapped = atomic_load(&vm->stats.frames_mapped);
	st->frames_mapped_peak = atomic_load(&vm->stats.frames_mapped_peak);
	for (int i = 0; i < 8; i++)
		st->report[i] = atomic_load(&vm->stats.report[i]);
	st->restore_bytes_read = atomic_load(&vm->stats.restore_bytes_read);
	st->restore_pages = atomic_load(&vm->stats.restore_pages);
	st->snapshot_pages = atomic_load(&vm->stats.snapshot_pages);
}
