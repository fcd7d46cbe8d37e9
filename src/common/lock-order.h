/* SPDX-License-Identifier: MIT */
/*
 * The library's lock order, in one place, checked in debug builds (NDEBUG
 * unset): each thread counts the classes it holds, and taking a lock while
 * holding one of its own class or of a later class asserts, before the
 * thread can block.  A thread only ever nests inward:
 *
 *   GM_LOCK_MEMSLOT  vm->memslot_lock: one memslot change at a time
 *   GM_LOCK_CONVERT  vm->convert_lock: one conversion at a time
 *   GM_LOCK_SLOTS    vm->slots_lock (rwlock): the slot array, which
 *                    changes under convert_lock too, so that a conversion
 *                    reads it under convert_lock alone
 *   GM_LOCK_FILE     file->lock (store): size, seals and pages of a file;
 *                    held around the invalidate callbacks
 *   GM_LOCK_BIND     vm->bind_lock: what the invalidate callback may see
 *   GM_LOCK_MMU      vm->mmu_lock: attributes, stage-2 record, sequence
 *   GM_LOCK_ID       pmem's id_lock: nothing is called under it
 *
 * Locks outside this list (the prefault and registry locks, engines' own)
 * are leaves: nothing in the list is taken under them.
 *
 * A helper that says "caller holds X" asserts it with gm_lock_assert_held():
 * that this thread holds a lock of X's class (as lockdep_assert_held, by
 * class: which instance is the caller's to get right).
 */
#ifndef GM_COMMON_LOCK_ORDER_H
#define GM_COMMON_LOCK_ORDER_H

#include <pthread.h>

enum gm_lock_class {
	GM_LOCK_MEMSLOT,
	GM_LOCK_CONVERT,
	GM_LOCK_SLOTS,
	GM_LOCK_FILE,
	GM_LOCK_BIND,
	GM_LOCK_MMU,
	GM_LOCK_ID,
	GM_LOCK_NR_CLASSES,
};

#ifdef NDEBUG
static inline void gm_lock_order_acquire(enum gm_lock_class class) { (void)class; }
static inline void gm_lock_order_release(enum gm_lock_class class) { (void)class; }
static inline void gm_lock_assert_held(enum gm_lock_class class) { (void)class; }
static inline void gm_lock_assert_held_either(enum gm_lock_class a, enum gm_lock_class b)
{
	(void)a;
	(void)b;
}
#else
#include <assert.h>

/*
 * The locks this thread holds: how many of each class, and a bit for each
 * class it holds any of.  Inline and initial-exec (the library is linked at
 * start-up, never dlopen()ed late): a guest's conversion takes and drops a
 * few locks and asserts a few more, and a call and __tls_get_addr() for
 * each cost it a tenth of its time.
 */
struct gm_lock_held {
	unsigned int classes;
	unsigned short count[GM_LOCK_NR_CLASSES];
};
extern _Thread_local struct gm_lock_held gm_lock_held
	__attribute__((tls_model("initial-exec")));

/* Report a lock of @class taken out of order, and assert (lock-order.c). */
void gm_lock_order_violated(enum gm_lock_class class);
/* Report that neither a lock of @a nor one of @b is held, and assert. */
void gm_lock_not_held(enum gm_lock_class a, enum gm_lock_class b);

/* About to take a lock of @class: assert that the order allows it, count it held. */
static inline void gm_lock_order_acquire(enum gm_lock_class class)
{
	if (gm_lock_held.classes >> class)	/* one of its class or a later one */
		gm_lock_order_violated(class);
	gm_lock_held.count[class]++;
	gm_lock_held.classes |= 1U << class;
}

/* A lock of @class was dropped. */
static inline void gm_lock_order_release(enum gm_lock_class class)
{
	assert(gm_lock_held.count[class] > 0);
	if (!--gm_lock_held.count[class])
		gm_lock_held.classes &= ~(1U << class);
}

/* Assert that this thread holds a lock of @class. */
static inline void gm_lock_assert_held(enum gm_lock_class class)
{
	if (!(gm_lock_held.classes & (1U << class)))
		gm_lock_not_held(class, class);
}

/* Assert that this thread holds a lock of class @a or of class @b. */
static inline void gm_lock_assert_held_either(enum gm_lock_class a, enum gm_lock_class b)
{
	if (!(gm_lock_held.classes & ((1U << a) | (1U << b))))
		gm_lock_not_held(a, b);
}
#endif

static inline void gm_mutex_lock(pthread_mutex_t *lock, enum gm_lock_class class)
{
	gm_lock_order_acquire(class);
	pthread_mutex_lock(lock);
}

static inline void gm_mutex_unlock(pthread_mutex_t *lock, enum gm_lock_class class)
{
	pthread_mutex_unlock(lock);
	gm_lock_order_release(class);
}

static inline void gm_rwlock_rdlock(pthread_rwlock_t *lock, enum gm_lock_class class)
{
	gm_lock_order_acquire(class);
	pthread_rwlock_rdlock(lock);
}

static inline void gm_rwlock_wrlock(pthread_rwlock_t *lock, enum gm_lock_class class)
{
	gm_lock_order_acquire(class);
	pthread_rwlock_wrlock(lock);
}

static inline void gm_rwlock_unlock(pthread_rwlock_t *lock, enum gm_lock_class class)
{
	pthread_rwlock_unlock(lock);
	gm_lock_order_release(class);
}

#endif
