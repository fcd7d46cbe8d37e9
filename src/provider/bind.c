/* SPDX-License-Identifier: MIT */
/*
 * Guest registration: binding a file to the one owner that may use it.
 *
 * The binding is found from the file itself (file->binding), so an
 * invalidation costs the same however many other owners exist: there is no
 * global list of VMs to walk, which the seed thread worried about.
 *
 * Lifetime: the store calls a binding only inside an RCU read-side section.
 * gm_unregister_guest() unpublishes the binding and waits for a grace period
 * before freeing it, so once it returns no callback for that owner runs or
 * can start.  The registration holds a reference on the file; the owner may
 * go away while the file lives on, and the file outlives the owner.
 */
#include <errno.h>
#include <stdlib.h>

#include "rcu.h"
#include "provider.h"
#include "store.h"

struct guest_binding {
	struct gm_file_binding binding;	/* first: the store sees only this */
	void *owner;
	const struct gm_guest_ops *ops;
};

static void binding_invalidate(struct gm_file_binding *b, struct gm_file *file,
			       uint64_t start, uint64_t end)
{
	struct guest_binding *g = (struct guest_binding *)b;

	g->ops->invalidate_page_range(file, g->owner, start, end);
}

static bool guest_capable(struct gm_file *file)
{
	/* The kernel's guest_memfd is guest memory by nature. */
	return gm_file_is_guest(file) == 1 || gm_file_store(file) == GM_STORE_KVM;
}

int gm_register_guest(struct gm_file *file, void *owner, const struct gm_guest_ops *guest_ops,
		      const struct gm_mem_ops **mem_ops)
{
	const struct gm_provider *provider;
	struct guest_binding *g;
	int ret;

	if (!file)
		return -EFAULT;
	if (!owner || !guest_ops || !guest_ops->invalidate_page_range || !mem_ops)
		return -EINVAL;
	if (!guest_capable(file))
		return -EPERM;
	provider = gm_provider_find(file);
	if (!provider)
		return -EOPNOTSUPP;
	g = malloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->binding.invalidate = binding_invalidate;
	g->owner = owner;
	g->ops = guest_ops;
	ret = gm_file_bind(file, &g->binding);
	if (ret) {
		free(g);
		return ret == -EBUSY ? -EPERM : ret;
	}
	gm_file_get(file);
	*mem_ops = provider->mem_ops;
	return 0;
}

int gm_unregister_guest(struct gm_file *file, void *owner)
{
	struct guest_binding *g;
	bool held;

	if (!file)
		return -EFAULT;
	/*
	 * Read the owner under RCU: a racing unregister of the real owner may
	 * free the binding, and a wrong owner must get -EINVAL, not a
	 * use-after-free.  (Not across unbind: file->lock is taken around
	 * gm_rcu_synchronize() by the store, so it must not be waited for
	 * inside a read-side section.)
	 */
	gm_rcu_read_lock();
	g = (struct guest_binding *)gm_file_binding(file);
	held = g && g->owner == owner;
	gm_rcu_read_unlock();
	if (!held || gm_file_unbind(file, &g->binding))
		return -EINVAL;
	gm_rcu_synchronize();
	free(g);
	gm_file_put(file);
	return 0;
}
