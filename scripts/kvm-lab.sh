#!/usr/bin/env bash
# The KVM lab: a real Linux KVM, nested on an emulated CPU, for machines that
# have no /dev/kvm.  QEMU's CPU emulator (single-threaded TCG: multi-threaded
# TCG oopsed the lab kernel within seconds) runs an AMD EPYC with SVM and
# nested paging; the lab kernel (scripts/lab-kernel.sh: Debian's 6.12 with
# KVM, kvm_amd and the software-protected VM type built in) boots a busybox
# initramfs, which mounts this machine's root read-only over 9p and this
# repository read-write at the same path, and runs the commands given, one
# after the other, each from the repository's root in a chroot of the host's
# root: the build trees, their libraries and meson are the host's own.
#
# Good for correctness; never for timings (every instruction is emulated).
#
# usage: scripts/kvm-lab.sh [--mem SIZE] [--cpus N] [--timeout SECONDS] CMD...
#
# Each CMD's output goes to stdout as it runs and to build-lab/last/N.out;
# its exit status to build-lab/last/N.rc.  The lab exits with the first
# non-zero status among them, 124 when the time bound ran out, and 125 when
# the lab itself failed (it would not boot, or a command took the kernel
# down: see build-lab/last/console.log).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
mem=6G cpus=2 bound=1800
while (($#)); do
	case $1 in
	--mem) mem=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--timeout) bound=$2; shift 2 ;;
	--help|-h) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "kvm-lab: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
if (($# == 0)); then
	echo "kvm-lab: no command to run (see --help)" >&2
	exit 2
fi

bash scripts/deps.sh qemu-system-x86 busybox-static cpio gzip
kernel=$(bash scripts/lab-kernel.sh)

out=$repo/build-lab/last
rm -rf "$out"
mkdir -p "$out" "$repo/build-lab/initramfs"
i=0
for cmd in "$@"; do
	i=$((i + 1))
	printf '%s\n' "$cmd" >"$out/$i.cmd"
done

# The initramfs: busybox and an init that mounts, runs, and powers off.
root=$repo/build-lab/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,host,lab}
cp /bin/busybox "$root/bin/busybox"
cp lab/init "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$repo/build-lab/initramfs.cpio.gz"

echo "kvm-lab: booting ($mem, $cpus CPUs, ${bound} s bound), $# command(s)" >&2
start=$(date +%s)
rc=0
timeout --foreground -k 10 "$bound" qemu-system-x86_64 \
	-accel tcg,thread=single -cpu EPYC,+svm,+npt -m "$mem" -smp "$cpus" \
	-bios qboot.rom \
	-nographic -no-reboot -nodefaults \
	-chardev file,id=con,path=/dev/stdout,append=on,logfile="$out/console.log" -serial chardev:con \
	-kernel "$kernel" -initrd "$repo/build-lab/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet panic=-1 lab.repo=$repo lab.cmds=$i" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$repo",mount_tag=repo,security_model=none,multidevs=remap \
	-virtfs local,path="$out",mount_tag=lab,security_model=none \
	</dev/null 2>"$out/qemu.log" || rc=$?
echo "kvm-lab: ran for $(( $(date +%s) - start )) s" >&2
if ((rc == 124)); then
	echo "kvm-lab: the time bound (${bound} s) ran out; console: $out/console.log" >&2
	exit 124
fi
if ((rc != 0)); then
	echo "kvm-lab: QEMU failed (exit $rc):" >&2
	cat "$out/qemu.log" >&2
	exit 125
fi

status=0
for ((n = 1; n <= i; n++)); do
	if [ ! -f "$out/$n.rc" ]; then
		echo "kvm-lab: command $n did not finish; console: $out/console.log" >&2
		tail -20 "$out/console.log" >&2
		exit 125
	fi
	c=$(cat "$out/$n.rc")
	echo "kvm-lab: command $n exited $c: $(cat "$out/$n.cmd")" >&2
	((status != 0 || c == 0)) || status=$c
done
exit $status
