/* SPDX-License-Identifier: MIT */
/*
 * RCU for guestmem: liburcu's bulletproof flavour, which needs no thread
 * registration (callers are the library's users' threads).
 *
 * ThreadSanitizer cannot see liburcu's grace periods, so under TSan every
 * reader's unlock is published as a release on one token and every
 * synchronize as an acquire of it: the happens-before edge that a grace
 * period really gives.
 */
#ifndef GM_COMMON_RCU_H
#define GM_COMMON_RCU_H

#include <urcu-bp.h>

#if defined(__SANITIZE_THREAD__)
#define GM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GM_TSAN 1
#endif
#endif

#ifdef GM_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char gm_rcu_tsan_token;
#define gm_tsan_acquire() __tsan_acquire(&gm_rcu_tsan_token)
#define gm_tsan_release() __tsan_release(&gm_rcu_tsan_token)
#else
#define gm_tsan_acquire() do { } while (0)
#define gm_tsan_release() do { } while (0)
#endif

static inline void gm_rcu_read_lock(void)
{
	urcu_bp_read_lock();
}

static inline void gm_rcu_read_unlock(void)
{
	gm_tsan_release();
	urcu_bp_read_unlock();
}

/*
 * Call @fn(@head) after a grace period, on liburcu's call_rcu thread.  @fn
 * must start with gm_tsan_acquire(), as gm_rcu_synchronize() does.
 */
static inline void gm_rcu_call(struct rcu_head *head, void (*fn)(struct rcu_head *))
{
	/* The caller's last writes happen before @fn, on liburcu's thread. */
	gm_tsan_release();
	urcu_bp_call_rcu(head, fn);
}

static inline void gm_rcu_synchronize(void)
{
	urcu_bp_synchronize_rcu();
	gm_tsan_acquire();
}

#endif
