// SPDX-License-Identifier: MIT
/*
 * guestmem info: what this host offers -- KVM and its guest_memfd, huge
 * pages, and from those which engines and stores will work, with a reason
 * for each one that will not.  Aligned text for people, --json for tools.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <guestmem/host.h>
#include <guestmem/vm.h>

#include "cli.h"
#include "json.h"
#include "options.h"

#define MAX_NAMES	8

struct names {
	const char *v[MAX_NAMES];
	int n;
};

struct host_info {
	struct gm_host_caps caps;
	struct names engines, stores, flag_names, vm_type_names;
	/* Why an engine or a store is absent: name and reason, pairwise. */
	struct names why_name, why_text;
};

static void names_add(struct names *names, const char *name)
{
	if (names->n < MAX_NAMES)
		names->v[names->n++] = name;
}

static void add_why(struct host_info *info, const char *name, const char *text)
{
	names_add(&info->why_name, name);
	names_add(&info->why_text, text);
}

static void name_flags(struct host_info *info)
{
	static const char *const flag_names[] = { "mmap", "init_shared" };
	static const char *const bit_names[] = {
		"bit 2", "bit 3", "bit 4", "bit 5", "bit 6", "bit 7",
	};
	uint64_t flags = info->caps.kvm.guest_memfd_flags;

	/* Flags a newer kernel adds are shown by bit, not dropped. */
	for (unsigned int bit = 0; bit < 8; bit++) {
		if (!(flags & (1ULL << bit)))
			continue;
		names_add(&info->flag_names, bit < 2 ? flag_names[bit] : bit_names[bit - 2]);
	}
}

static const char *vm_type_name(int type)
{
	switch (type) {
	case GM_KVM_VM_DEFAULT:
		return "default";
	case GM_KVM_VM_SW_PROTECTED:
		return "sw_protected";
	default:
		return "unknown";
	}
}

static void name_vm_types(struct host_info *info)
{
	if (info->caps.kvm.vm_types & (1ULL << GM_KVM_VM_DEFAULT))
		names_add(&info->vm_type_names, "default");
	if (info->caps.kvm.vm_types & (1ULL << GM_KVM_VM_SW_PROTECTED))
		names_add(&info->vm_type_names, "sw_protected");
}

static void find_engines(struct host_info *info)
{
	const struct gm_host_caps *caps = &info->caps;

	/* KVM's own reason says more than the engine's. */
	if (caps->engine_kvm)
		names_add(&info->engines, "kvm");
	else
		add_why(info, "kvm", caps->kvm.why ? caps->kvm.why : caps->engine_kvm_why);
	if (caps->engine_emu)
		names_add(&info->engines, "emu");
	else
		add_why(info, "emu", caps->engine_emu_why);
}

static void find_stores(struct host_info *info)
{
	const struct gm_host_caps *caps = &info->caps;

	names_add(&info->stores, "shmem");
	if (caps->store_hugetlb)
		names_add(&info->stores, "hugetlb");
	else
		add_why(info, "hugetlb", caps->store_hugetlb_why);
	if (caps->store_kvm)
		names_add(&info->stores, "kvm");
	else if (caps->kvm.available)	/* else the engine's note says why */
		add_why(info, "kvm", caps->store_kvm_why);
}

static int gather(struct host_info *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	ret = gm_host_caps_get(&info->caps);
	if (ret < 0)
		return ret;
	name_flags(info);
	name_vm_types(info);
	find_engines(info);
	find_stores(info);
	return 0;
}

/* ---- text ---- */

/* The names separated by @sep, or "none". */
static void print_list(const struct names *names, const char *sep)
{
	for (int i = 0; i < names->n; i++)
		printf("%s%s", i ? sep : "", names->v[i]);
	printf("%s", names->n ? "" : "none");
}

static void print_kvm_text(const struct host_info *info)
{
	const struct gm_host_kvm *caps = &info->caps.kvm;

	if (!caps->available) {
		printf("%-20sno (%s)\n", "kvm", caps->why);
		return;
	}
	printf("%-20syes, API version %d%s%s\n", "kvm", caps->api_version,
	       caps->user_memory2 ? ", user_memory2" : "",
	       caps->memory_fault_info ? ", memory_fault_info" : "");
	if (caps->guest_memfd) {
		printf("%-20syes, on %s VMs, flags 0x%" PRIx64 " (", "guest_memfd",
		       vm_type_name(caps->guest_memfd_vm_type), caps->guest_memfd_flags);
		print_list(&info->flag_names, ", ");
		printf(")\n");
	} else {
		printf("%-20sno (%s)\n", "guest_memfd", caps->why);
	}
	if (caps->memory_attributes)
		printf("%-20syes, private, on %s VMs\n", "memory attributes",
		       vm_type_name(caps->guest_memfd_vm_type));
	else
		printf("%-20sno private attribute on any VM type\n", "memory attributes");
	printf("%-20s0x%" PRIx64 " (", "vm types", caps->vm_types);
	print_list(&info->vm_type_names, ", ");
	printf(")\n");
}

static void print_text(const struct host_info *info)
{
	print_kvm_text(info);
	printf("%-20s%" PRIu64 " reserved, %" PRIu64 " free\n", "huge pages 2 MiB",
	       info->caps.huge_2m.total, info->caps.huge_2m.free);
	printf("%-20s%" PRIu64 " reserved, %" PRIu64 " free\n", "huge pages 1 GiB",
	       info->caps.huge_1g.total, info->caps.huge_1g.free);
	printf("%-20s", "engines");
	print_list(&info->engines, " ");
	printf("\n%-20s", "stores");
	print_list(&info->stores, " ");
	printf("\n");
	for (int i = 0; i < info->why_name.n; i++) {
		char label[32];

		snprintf(label, sizeof(label), "no %s", info->why_name.v[i]);
		printf("%-20s%s\n", label, info->why_text.v[i]);
	}
}

/* ---- JSON ---- */

static void json_names(struct gm_json *w, const char *key, const struct names *names)
{
	gm_json_begin(w, key, '[');
	for (int i = 0; i < names->n; i++)
		gm_json_str(w, NULL, names->v[i]);
	gm_json_end(w);
}

static void json_kvm(struct gm_json *w, const struct gm_host_kvm *caps)
{
	gm_json_begin(w, "kvm", '{');
	gm_json_bool(w, "available", caps->available);
	if (caps->api_version > 0)
		gm_json_u64(w, "api_version", (uint64_t)caps->api_version);
	gm_json_bool(w, "user_memory2", caps->user_memory2);
	gm_json_bool(w, "memory_fault_info", caps->memory_fault_info);
	if (!caps->available)
		gm_json_str(w, "why", caps->why);
	gm_json_end(w);
}

static void json_guest_memfd(struct gm_json *w, const struct host_info *info)
{
	const struct gm_host_kvm *caps = &info->caps.kvm;

	gm_json_begin(w, "guest_memfd", '{');
	gm_json_bool(w, "available", caps->guest_memfd);
	if (caps->guest_memfd)
		gm_json_str(w, "vm_type", vm_type_name(caps->guest_memfd_vm_type));
	gm_json_u64(w, "flags", caps->guest_memfd_flags);
	json_names(w, "flag_names", &info->flag_names);
	if (!caps->guest_memfd)
		gm_json_str(w, "why", caps->why);
	gm_json_end(w);
}

static void print_json(const struct host_info *info)
{
	struct gm_json w;

	gm_json_init(&w, stdout);

	gm_json_begin(&w, NULL, '{');
	json_kvm(&w, &info->caps.kvm);
	json_guest_memfd(&w, info);
	gm_json_bool(&w, "memory_attributes", info->caps.kvm.memory_attributes);
	gm_json_u64(&w, "vm_types", info->caps.kvm.vm_types);
	json_names(&w, "vm_type_names", &info->vm_type_names);
	gm_json_u64(&w, "hugepages_2m_total", info->caps.huge_2m.total);
	gm_json_u64(&w, "hugepages_2m_free", info->caps.huge_2m.free);
	gm_json_u64(&w, "hugepages_1g_total", info->caps.huge_1g.total);
	gm_json_u64(&w, "hugepages_1g_free", info->caps.huge_1g.free);
	json_names(&w, "engines", &info->engines);
	json_names(&w, "stores", &info->stores);
	gm_json_begin(&w, "why", '{');
	for (int i = 0; i < info->why_name.n; i++)
		gm_json_str(&w, info->why_name.v[i], info->why_text.v[i]);
	gm_json_end(&w);
	gm_json_end(&w);
	fputc('\n', stdout);
}

/* ---- the command ---- */

struct info_opts {
	bool json;
};

#define GM_OPT_STRUCT	struct info_opts

static const struct gm_opt info_options[] = {
	GM_OPT_JSON(json),
	GM_OPT_END,
};

static const struct gm_opt_cmd info_cmd = {
	.name = "info",
	.about = "show what this host offers: KVM and its capabilities, guest_memfd, huge "
		 "pages, and which engines and stores will work (and why not)",
	.options = info_options,
};

void gm_cmd_info_usage(FILE *out)
{
	gm_opt_usage(&info_cmd, out);
}

int gm_cmd_info(int argc, char **argv)
{
	struct info_opts o = { .json = false };
	struct host_info info;
	int ret;

	ret = gm_opt_parse(&info_cmd, argc, argv, &o);
	if (ret)
		return ret == GM_ARGS_HELP ? GM_STATUS_OK : ret;
	ret = gather(&info);
	if (ret < 0) {
		gm_cli_error("info", "cannot probe the host: %s", strerror(-ret));
		return GM_STATUS_FAIL;
	}
	if (o.json)
		print_json(&info);
	else
		print_text(&info);
	return GM_STATUS_OK;
}
