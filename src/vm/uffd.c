/* SPDX-License-Identifier: MIT */
/*
 * userfaultfd over the windows of private-capable slots.
 *
 * Both windows of such a slot are registered in missing and minor mode, so
 * the kernel lets no page into them by itself: a first touch of a hole
 * (missing) or of a page the file holds but the window does not show yet
 * (minor) stops the touching thread, a vCPU or KVM acting for one, and
 * posts an event here.  The fault thread hands it to the fault path, which
 * asks the provider and lets the page in with UFFDIO_CONTINUE (which never
 * faults itself, so the fault thread cannot block on its own events).
 *
 * One descriptor and one thread per VM, made with the first private slot.
 * Creating a userfaultfd that sees faults taken inside the kernel (KVM's)
 * needs CAP_SYS_PTRACE, /dev/userfaultfd, or vm.unprivileged_userfaultfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm-internal.h"

#define UFFD_FEATURES	(UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_MINOR_SHMEM | \
			 UFFD_FEATURE_MINOR_HUGETLBFS)
#define EVENTS_PER_READ	64
/*
 * A fault the fault path could not serve (the host out of memory, say) is
 * retried after RETRY_DELAY_US; after GIVE_UP_FAILURES failures in a row
 * (a second of them), or at once when the run is stopping anyway, the run
 * fails with the error and the waiting thread is let go on a fence.
 */
#define RETRY_DELAY_US		1000
#define GIVE_UP_FAILURES	1000
/*
 * Fences come out of memory reserved with the fault thread, so that they
 * work when nothing more can be had: room for a 2 MiB folio and 512 small
 * pages; past that (and for 1 GiB folios) a fresh mapping is tried.
 */
#define FENCE_POOL_BYTES	(4ULL << 20)

static int uffd_open(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int dev;

	if (fd >= 0 || errno != EPERM)
		return fd >= 0 ? fd : -errno;
	/* Not privileged for the system call: the device may be open to us. */
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -EPERM;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	close(dev);
	return fd >= 0 ? fd : -errno;
}

static int uffd_create(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURES };
	int fd = uffd_open();

	if (fd < 0)
		return fd;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* Wake whoever waits on the page at @hva, to fault again. */
static void wake_page(struct gm_vm *vm, uint64_t hva)
{
	struct uffdio_range r = { .start = hva & ~GM_PAGE_MASK, .len = GM_PAGE_SIZE };

	ioctl(vm->uffd, UFFDIO_WAKE, &r);
}

static void handle_event(struct gm_vm *vm, const struct uffd_msg *msg)
{
	uint64_t hva = msg->arg.pagefault.address;
	struct gm_access acc = { .len = 1, .window_tid = (pid_t)msg->arg.pagefault.feat.ptid };
	int ret;

	if (msg->event != UFFD_EVENT_PAGEFAULT)
		return;
	/* Through the engines' own door: by guest address. */
	ret = gm_vm_window_gpa(vm, (uint8_t *)(uintptr_t)(hva & ~GM_PAGE_MASK), &acc.gpa);
	if (!ret)
		ret = gm_vm_handle_fault(vm, gm_vm_vcpu_of_tid(vm, acc.window_tid), &acc, NULL);
	if (ret <= 0)
		vm->uffd_failures = ret ? vm->uffd_failures + 1 : 0;
	if (!ret)
		return;
	if (ret < 0 && (gm_vm_stopping(vm) || vm->uffd_failures >= GIVE_UP_FAILURES)) {
		gm_vm_fail(vm, ret);
		ret = gm_vm_window_fence(vm, (uint8_t *)(uintptr_t)hva);
	}
	/* Nothing let in: the thread faults again a little later. */
	if (ret < 0)
		usleep(RETRY_DELAY_US);
	wake_page(vm, hva);
}

int gm_vm_uffd_fence(struct gm_vm *vm, uint8_t *hva, uint64_t len)
{
	void *p;

	if (vm->fence_pool && vm->fence_used + len <= FENCE_POOL_BYTES) {
		p = mremap(vm->fence_pool + vm->fence_used, len, len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, hva);
		if (p != MAP_FAILED) {
			vm->fence_used += len;
			return 0;
		}
	}
	p = mmap(hva, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}

static void *fault_thread(void *arg)
{
	struct gm_vm *vm = arg;
	struct uffd_msg msgs[EVENTS_PER_READ];
	struct pollfd pfd[2] = {
		{ .fd = vm->uffd, .events = POLLIN },
		{ .fd = vm->uffd_wake, .events = POLLIN },
	};

	for (;;) {
		ssize_t n;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		n = read(vm->uffd, msgs, sizeof(msgs));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++)
			handle_event(vm, &msgs[i]);
	}
	return NULL;
}

/* Under slots_lock (write). */
static int uffd_start(struct gm_vm *vm)
{
	int ret;

	if (vm->uffd_running)
		return 0;
	vm->uffd = uffd_create();
	if (vm->uffd < 0) {
		ret = vm->uffd;
		vm->uffd = -1;
		return ret;
	}
	vm->uffd_wake = eventfd(0, EFD_CLOEXEC);
	if (vm->uffd_wake < 0) {
		ret = -errno;
		goto err_uffd;
	}
	vm->fence_pool = mmap(NULL, FENCE_POOL_BYTES, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->fence_pool == MAP_FAILED) {
		ret = -errno;
		vm->fence_pool = NULL;
		goto err_wake;
	}
	vm->fence_used = 0;
	vm->uffd_failures = 0;
	ret = -pthread_create(&vm->uffd_thread, NULL, fault_thread, vm);
	if (ret)
		goto err_pool;
	vm->uffd_running = true;
	return 0;

err_pool:
	munmap(vm->fence_pool, FENCE_POOL_BYTES);
	vm->fence_pool = NULL;
err_wake:
	close(vm->uffd_wake);
err_uffd:
	close(vm->uffd);
	vm->uffd = -1;
	return ret;
}

void gm_vm_uffd_release(struct gm_vm *vm)
{
	uint64_t one = 1;

	if (!vm->uffd_running)
		return;
	if (write(vm->uffd_wake, &one, sizeof(one)) == sizeof(one))
		pthread_join(vm->uffd_thread, NULL);
	close(vm->uffd_wake);
	close(vm->uffd);
	/* What fences took from the pool went with the windows they cover. */
	munmap(vm->fence_pool + vm->fence_used, FENCE_POOL_BYTES - vm->fence_used);
	vm->fence_pool = NULL;
	vm->uffd = -1;
	vm->uffd_running = false;
}

static int register_range(struct gm_vm *vm, void *addr, uint64_t len)
{
	struct uffdio_register r = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR,
	};

	if (ioctl(vm->uffd, UFFDIO_REGISTER, &r) < 0)
		return -errno;
	if (!(r.ioctls & (1ULL << _UFFDIO_CONTINUE)))
		return -EOPNOTSUPP;
	return 0;
}

static void unregister_range(struct gm_vm *vm, void *addr, uint64_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };

	ioctl(vm->uffd, UFFDIO_UNREGISTER, &r);
}

int gm_vm_uffd_register(struct gm_vm *vm, struct gm_slot *s)
{
	int ret = uffd_start(vm);

	if (ret)
		return ret;
	ret = register_range(vm, s->private_win, s->desc.size);
	if (ret)
		return ret;
	ret = register_range(vm, s->shared_win, s->desc.size);
	if (ret) {
		unregister_range(vm, s->private_win, s->desc.size);
		return ret;
	}
	s->mm->uffd_registered = true;
	return 0;
}

void gm_vm_uffd_unregister(struct gm_vm *vm, struct gm_slot *s)
{
	if (!s->mm->uffd_registered)
		return;
	unregister_range(vm, s->private_win, s->desc.size);
	unregister_range(vm, s->shared_win, s->desc.size);
	s->mm->uffd_registered = false;
}

int gm_vm_uffd_let_in(struct gm_vm *vm, uint8_t *hva, uint64_t len, uint64_t page_size)
{
	uint64_t done = 0;

	while (done < len) {
		struct uffdio_continue c = {
			.range = { .start = (uintptr_t)(hva + done), .len = len - done },
		};

		if (!ioctl(vm->uffd, UFFDIO_CONTINUE, &c))
			return 0;
		if (errno == EAGAIN) {
			/*
			 * Stopped part way (by a page already in, say) or
			 * the address space was changing: on from where it
			 * stopped.
			 */
			done += c.mapped > 0 ? (uint64_t)c.mapped : 0;
			continue;
		}
		if (errno != EEXIST)
			return errno == EFAULT ? -ENOENT : -errno;
		/* A page already in at the start: step over it. */
		done += page_size;
	}
	return 0;
}
