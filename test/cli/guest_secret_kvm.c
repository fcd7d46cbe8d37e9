// SPDX-License-Identifier: MIT
/* guest_secret.c on the kvm engine; skips (77) where /dev/kvm does not work. */
#define CLI_ENGINE "kvm"
#include "guest_secret.c"
