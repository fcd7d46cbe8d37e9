#!/usr/bin/env bash
# Build the KVM lab's kernel from Debian's linux-source-6.12 and lab/kernel.config,
# once: it is cached by the hash of its inputs (the source package's version,
# the configuration, this script) under $GUESTMEM_LAB_CACHE.  Prints the
# bzImage's path on stdout; everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${GUESTMEM_LAB_CACHE:-/var/cache/guestmem-lab}
tarball=/usr/src/linux-source-6.12.tar.xz

need=(linux-source-6.12 bc bison flex libelf-dev libssl-dev make gcc xz-utils)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "lab kernel: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

key=$( { dpkg-query -W -f='${Version}' linux-source-6.12; cat lab/kernel.config "$0"; } |
	sha256sum | cut -c1-16)
out=$cache/kernel-$key
if [ -s "$out/bzImage" ]; then
	echo "$out/bzImage"
	exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "lab kernel: building $key in $work (about 10 minutes on 2 cores)" >&2
tar -xJf "$tarball" -C "$work"
src=$work/linux-source-6.12
make -C "$src" -s tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" lab/kernel.config >/dev/null
make -C "$src" -s olddefconfig >&2

# Every option asked for must have taken: a dependency we missed would
# otherwise drop it without a word and the lab would lack, say, KVM.
bad=0
while IFS= read -r line; do
	case $line in ''|'#'*) continue ;; esac
	grep -qx "$line" "$src/.config" || { echo "lab kernel: $line did not take" >&2; bad=1; }
done <lab/kernel.config
((bad == 0)) || exit 1

make -C "$src" -s -j"$(nproc)" bzImage >&2
mkdir -p "$out.tmp"
cp "$src/arch/x86/boot/bzImage" "$src/.config" "$out.tmp/"
mv "$out.tmp" "$out"
echo "lab kernel: built in $(( $(date +%s) - start )) s" >&2
echo "$out/bzImage"
