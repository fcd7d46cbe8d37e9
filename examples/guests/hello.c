// SPDX-License-Identifier: MIT
/*
 * hello: the smallest guest.  Every vCPU says hello and reports 1 as
 * GM_REPORT_VALUE (so the summary's "value" counts the vCPUs); vCPU 0
 * prints the --guest-arg values.
 *
 *   guestmem run --guest hello.elf --vcpus 2 --guest-arg world
 */
#include <guestmem/guest/guest.h>

int guest_main(unsigned int vcpu, const struct gm_guest_info *info)
{
	gm_printf("hello from vCPU %u of %u: %lu MiB of RAM, %lu MiB free at 0x%lx\n", vcpu,
		  info->nr_vcpus, (unsigned long)(info->ram_size >> 20),
		  (unsigned long)(info->free_size >> 20), (unsigned long)info->free_base);
	if (vcpu == 0)
		for (unsigned int i = 0; i < info->argc; i++)
			gm_printf("argument %u: %s\n", i, info->argv[i]);
	gm_report(GM_REPORT_VALUE, 1);
	return 0;
}
