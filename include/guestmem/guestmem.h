/* SPDX-License-Identifier: MIT */
/* guestmem: fd-based guest private memory in user space.  The umbrella header. */
#ifndef GUESTMEM_GUESTMEM_H
#define GUESTMEM_GUESTMEM_H

#include <guestmem/file.h>
#include <guestmem/host.h>
#include <guestmem/provider.h>
#include <guestmem/vm.h>

#endif
