/* SPDX-License-Identifier: MIT */
/*
 * The registry of memory-fd providers: the seed's "third layer".  A small
 * array, written rarely under a mutex and read without it (entries are
 * published with a release store and never removed).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "provider.h"

#define MAX_PROVIDERS 16

static const struct gm_provider *_Atomic providers[MAX_PROVIDERS];
static _Atomic unsigned int nr_providers;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static int register_locked(const struct gm_provider *provider)
{
	unsigned int n = atomic_load(&nr_providers);

	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(atomic_load(&providers[i])->name, provider->name))
			return -EEXIST;
	if (n == MAX_PROVIDERS)
		return -ENOSPC;
	atomic_store_explicit(&providers[n], provider, memory_order_release);
	atomic_store_explicit(&nr_providers, n + 1, memory_order_release);
	return 0;
}

/* The stores guestmem ships are registered the first time anyone asks. */
static void register_builtin(void)
{
	pthread_mutex_lock(&registry_lock);
	for (const struct gm_provider *const *p = gm_builtin_providers; *p; p++)
		register_locked(*p);
	pthread_mutex_unlock(&registry_lock);
}

int gm_provider_register(const struct gm_provider *provider)
{
	const struct gm_mem_ops *ops;
	int ret;

	if (!provider || !provider->name || !provider->owns || !provider->mem_ops)
		return -EINVAL;
	ops = provider->mem_ops;
	if (!ops->get_lock_pfn || !ops->put_unlock_pfn || !ops->pfn_mapping_level ||
	    !ops->map_range)
		return -EINVAL;
	pthread_once(&builtin_once, register_builtin);
	pthread_mutex_lock(&registry_lock);
	ret = register_locked(provider);
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

const struct gm_provider *gm_provider_find(struct gm_file *file)
{
	unsigned int n;

	if (!file)
		return NULL;
	pthread_once(&builtin_once, register_builtin);
	n = atomic_load_explicit(&nr_providers, memory_order_acquire);
	/* Newest first: a provider of the caller's own goes before the built-in stores. */
	for (unsigned int i = n; i-- > 0;) {
		const struct gm_provider *p = atomic_load_explicit(&providers[i],
								   memory_order_acquire);

		if (p->owns(file))
			return p;
	}
	return NULL;
}
