/* SPDX-License-Identifier: MIT */
/*
 * Finding the guest address behind a bare -EFAULT from KVM_RUN.
 *
 * This workplace's KVM (kvm_pvm) runs guest code natively only at CPL 3;
 * at CPL 0 it emulates every instruction (about 0.5 us each).  So the kvm
 * engine runs its guests at CPL 3, where an access to an empty window makes
 * KVM_RUN fail with -EFAULT and no KVM_EXIT_MEMORY_FAULT information.  The
 * engine then replays the faulting instruction in unicorn over copies of
 * the pages the guest can reach, and the first page that is not mapped is
 * the one to fault in.  The replay has no side effects: it writes to copies.
 */
#ifndef GM_ENGINE_KVM_REPLAY_H
#define GM_ENGINE_KVM_REPLAY_H

#include "vm/vm-internal.h"

struct gm_kvm_replay;

/*
 * gm_kvm_replay_fault - replay the instruction at the vCPU's RIP and put the
 * access that would fault in @acc.  *@replay holds the vCPU's emulator
 * between calls (NULL at first).
 * Return: 0, -ENOENT (the instruction runs without faulting), or -errno.
 */
int gm_kvm_replay_fault(struct gm_vcpu *vcpu, int vcpu_fd, struct gm_kvm_replay **replay,
			struct gm_access *acc);
void gm_kvm_replay_free(struct gm_kvm_replay *replay);

#endif
