/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unicorn/unicorn.h>

#include "engine-kvm/replay.h"

#define MAX_PAGES	8	/* an x86 instruction touches fewer */

struct gm_kvm_replay {
	uc_engine *uc;
	uc_hook hook;
	struct gm_vm *vm;
	uint64_t page[MAX_PAGES];
	void *copy[MAX_PAGES];
	int nr;
	bool found;
	struct gm_access acc;
	int err;
};

/* Map a copy of each reachable page; stop at the first one that would fault. */
static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			int64_t value, void *opaque)
{
	struct gm_kvm_replay *r = opaque;
	uint64_t page = addr & ~(uint64_t)GM_PAGE_MASK;
	void *copy;

	if (r->nr == MAX_PAGES || !(copy = aligned_alloc(GM_PAGE_SIZE, GM_PAGE_SIZE))) {
		r->err = -ENOMEM;
		return false;
	}
	if (gm_vm_peek_page(r->vm, addr, copy)) {
		free(copy);
		r->found = true;
		r->acc = (struct gm_access){ .gpa = addr, .len = (unsigned int)size,
					     .write = type == UC_MEM_WRITE_UNMAPPED };
		return false;
	}
	if (uc_mem_map_ptr(uc, page, GM_PAGE_SIZE, UC_PROT_ALL, copy)) {
		free(copy);
		r->err = -EIO;
		return false;
	}
	r->page[r->nr] = page;
	r->copy[r->nr++] = copy;
	return true;
}

static struct gm_kvm_replay *replay_new(struct gm_vm *vm)
{
	struct gm_kvm_replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->vm = vm;
	if (uc_open(UC_ARCH_X86, UC_MODE_64, &r->uc)) {
		free(r);
		return NULL;
	}
	if (uc_hook_add(r->uc, &r->hook, UC_HOOK_MEM_UNMAPPED, (void *)on_unmapped, r, 1, 0)) {
		uc_close(r->uc);
		free(r);
		return NULL;
	}
	return r;
}

void gm_kvm_replay_free(struct gm_kvm_replay *r)
{
	if (!r)
		return;
	uc_close(r->uc);
	free(r);
}

static int load_regs(uc_engine *uc, const struct kvm_regs *k)
{
	static const int ids[] = {
		UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX,
		UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RSP, UC_X86_REG_RBP,
		UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
		UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
		UC_X86_REG_RIP, UC_X86_REG_RFLAGS,
	};
	const uint64_t vals[] = {
		k->rax, k->rbx, k->rcx, k->rdx, k->rsi, k->rdi, k->rsp, k->rbp,
		k->r8, k->r9, k->r10, k->r11, k->r12, k->r13, k->r14, k->r15,
		k->rip, k->rflags,
	};

	for (unsigned int i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (uc_reg_write(uc, ids[i], &vals[i]))
			return -EIO;
	return 0;
}

int gm_kvm_replay_fault(struct gm_vcpu *vcpu, int vcpu_fd, struct gm_kvm_replay **replay,
			struct gm_access *acc)
{
	struct gm_kvm_replay *r = *replay;
	struct kvm_regs regs;
	int ret;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	if (!r && !(r = *replay = replay_new(vcpu->vm)))
		return -ENOMEM;
	r->found = false;
	r->err = 0;
	ret = load_regs(r->uc, &regs);
	if (!ret)
		uc_emu_start(r->uc, regs.rip, UINT64_MAX, 0, 1);
	/* The copies go: the next replay must see the guest's memory as it is then. */
	while (r->nr) {
		r->nr--;
		uc_mem_unmap(r->uc, r->page[r->nr], GM_PAGE_SIZE);
		free(r->copy[r->nr]);
	}
	if (ret || r->err)
		return ret ? ret : r->err;
	if (!r->found)
		return -ENOENT;
	*acc = r->acc;
	return 0;
}
