// SPDX-License-Identifier: MIT
/* test/cli/snapshot.c on the kvm engine (exit 77 where KVM is missing). */
#define CLI_ENGINE "kvm"
#include "snapshot.c"
