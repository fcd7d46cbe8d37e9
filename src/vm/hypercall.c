/* SPDX-License-Identifier: MIT */
/*
 * The guest's port-I/O hypercalls (guest-abi.h).  Every argument comes from
 * the guest and is checked here; a bad one returns a negative errno to the
 * guest and never reaches the VMM's state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "vm-internal.h"

static uint64_t hc_print(struct gm_vcpu *vcpu, uint64_t gpa, uint64_t len)
{
	struct gm_vm *vm = vcpu->vm;
	char *text;
	int ret;

	if (len > GM_HC_MAX_PRINT)
		return (uint64_t)-EINVAL;
	text = malloc(len ? len : 1);
	if (!text)
		return (uint64_t)-ENOMEM;
	ret = gm_vm_read_shared(vm, gpa, text, len);
	if (!ret && vm->handlers && vm->handlers->print)
		vm->handlers->print(vm->handlers->opaque, vcpu->index, text, len);
	free(text);
	return (uint64_t)(int64_t)ret;
}

static uint64_t hc_convert(struct gm_vcpu *vcpu, uint64_t gpa, uint64_t size, uint64_t flags)
{
	if ((flags & ~(uint64_t)(GM_HC_CONVERT_PRIVATE | GM_HC_CONVERT_PRESERVE)) ||
	    (gpa & GM_GUEST_SHARED_BIT))
		return (uint64_t)-EINVAL;
	return (uint64_t)(int64_t)gm_vm_guest_convert(vcpu->vm, gpa, size,
						      flags & GM_HC_CONVERT_PRIVATE,
						      flags & GM_HC_CONVERT_PRESERVE ?
						      GM_CONVERT_PRESERVE : GM_CONVERT_ZERO);
}

static uint64_t hc_report(struct gm_vcpu *vcpu, uint64_t key, uint64_t value)
{
	if (key >= GM_ARRAY_SIZE(vcpu->vm->stats.report))
		return (uint64_t)-EINVAL;
	gm_stat_add(&vcpu->vm->stats.report[key], value);
	return 0;
}

static uint64_t hc_host_read64(struct gm_vcpu *vcpu, uint64_t gpa)
{
	uint64_t value = 0;
	int ret;

	if ((gpa & 7) || (gpa & GM_GUEST_SHARED_BIT))
		return (uint64_t)-EINVAL;
	ret = gm_vm_read_host_view(vcpu->vm, gpa, &value, sizeof(value));
	return ret ? (uint64_t)(int64_t)ret : value;
}

uint64_t gm_vm_hypercall(struct gm_vcpu *vcpu, uint64_t nr, uint64_t a0, uint64_t a1,
			 uint64_t a2, bool *done)
{
	struct gm_vm *vm = vcpu->vm;

	gm_stat_add(&vm->stats.hypercalls, 1);
	*done = false;
	switch (nr) {
	case GM_HC_EXIT:
		vcpu->exit.reason = GM_EXIT_GUEST_EXIT;
		vcpu->exit.status = (int64_t)a0;
		*done = true;
		return 0;
	case GM_HC_PRINT:
		return hc_print(vcpu, a0, a1);
	case GM_HC_CONVERT:
		return hc_convert(vcpu, a0, a1, a2);
	case GM_HC_REPORT:
		return hc_report(vcpu, a0, a1);
	case GM_HC_HOST_READ64:
		return hc_host_read64(vcpu, a0);
	case GM_HC_PROGRESS:
		if (vm->handlers && vm->handlers->progress)
			vm->handlers->progress(vm->handlers->opaque, vcpu->index, a0);
		return 0;
	default:
		return (uint64_t)-ENOSYS;
	}
}

int gm_vm_memory_fault(struct gm_vcpu *vcpu, const struct gm_exit *exit)
{
	struct gm_vm *vm = vcpu->vm;

	if (!vm->handlers || !vm->handlers->memory_fault)
		return -EFAULT;
	return vm->handlers->memory_fault(vm->handlers->opaque, vm, vcpu->index, exit);
}

int gm_vm_port_io(struct gm_vcpu *vcpu, uint16_t port, bool out, unsigned int size, void *data)
{
	struct gm_vm *vm = vcpu->vm;

	if (!vm->handlers || !vm->handlers->port_io) {
		if (!out)
			memset(data, 0xff, size);
		return 0;
	}
	return vm->handlers->port_io(vm->handlers->opaque, vm, vcpu->index, port, out, size, data);
}
