/* SPDX-License-Identifier: MIT */
#include "rcu.h"

#ifdef GM_TSAN
/* The address ThreadSanitizer uses to stand for "a grace period". */
char gm_rcu_tsan_token;
#endif
