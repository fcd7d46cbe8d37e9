/* SPDX-License-Identifier: MIT */
/* Private to the provider layer. */
#ifndef GM_PROVIDER_PROVIDER_H
#define GM_PROVIDER_PROVIDER_H

#include <guestmem/provider.h>

/* NULL-terminated: the stores guestmem ships (stores.c). */
extern const struct gm_provider *const gm_builtin_providers[];

#endif
