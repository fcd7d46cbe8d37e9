#!/usr/bin/env bash
# The KVM lab's kernel, and the kernel's own guest_memfd selftests, built
# once from Debian's linux-source-6.12 and cached under $GUESTMEM_LAB_CACHE
# by the hash of their inputs (the source package's version, and for the
# kernel lab/kernel.config and build_kernel below; for the selftests
# build_selftests below).
#
# usage: scripts/lab-kernel.sh            print the bzImage's path
#        scripts/lab-kernel.sh selftests  print the folder holding
#                                         guest_memfd_test and
#                                         private_mem_conversions_test
# Everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${GUESTMEM_LAB_CACHE:-/var/cache/guestmem-lab}
tarball=/usr/src/linux-source-6.12.tar.xz

bash scripts/deps.sh linux-source-6.12 bc bison flex libelf-dev libssl-dev make gcc xz-utils

# tinyconfig, our options merged, each one checked, then bzImage into $2.
build_kernel() {	# source-dir out-dir
	local src=$1 out=$2 bad=0 line
	make -C "$src" -s tinyconfig >&2
	"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" lab/kernel.config >/dev/null
	make -C "$src" -s olddefconfig >&2
	# An option whose dependency we missed is dropped without a word: check.
	while IFS= read -r line; do
		case $line in ''|'#'*) continue ;; esac
		grep -qx "$line" "$src/.config" || { echo "lab kernel: $line did not take" >&2; bad=1; }
	done <lab/kernel.config
	((bad == 0)) || return 1
	make -C "$src" -s -j"$(nproc)" bzImage >&2
	cp "$src/arch/x86/boot/bzImage" "$src/.config" "$out/"
}

# The kernel's uAPI headers, then the two selftests that exercise guest_memfd.
build_selftests() {	# source-dir out-dir
	local src=$1 out=$2 kvm=$1/tools/testing/selftests/kvm
	make -C "$src" -s headers >&2
	make -C "$kvm" -s -j"$(nproc)" "$kvm/guest_memfd_test" \
		"$kvm/x86_64/private_mem_conversions_test" >&2
	cp "$kvm/guest_memfd_test" "$kvm/x86_64/private_mem_conversions_test" "$out/"
}

# Build @what (kernel or selftests) unless cached; print where it is.
built() {	# what
	local what=$1 key out work start
	key=$( { dpkg-query -W -f='${Version}' linux-source-6.12; declare -f "build_$what"
		 if [ "$what" = kernel ]; then cat lab/kernel.config; fi; } | sha256sum | cut -c1-16)
	out=$cache/$what-$key
	if [ -d "$out" ]; then
		echo "$out"
		return
	fi
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/build.XXXXXX")
	start=$(date +%s)
	echo "lab kernel: building the $what ($key) in $work" >&2
	tar -xJf "$tarball" -C "$work"
	mkdir "$work/out"
	if ! "build_$what" "$work/linux-source-6.12" "$work/out"; then
		rm -rf "$work"
		return 1
	fi
	mv "$work/out" "$out"
	rm -rf "$work"
	echo "lab kernel: the $what built in $(( $(date +%s) - start )) s" >&2
	echo "$out"
}

case ${1:-kernel} in
kernel) dir=$(built kernel); echo "$dir/bzImage" ;;
selftests) built selftests ;;
*) echo "usage: $0 [kernel|selftests]" >&2; exit 2 ;;
esac
