#!/usr/bin/env bash
# Set up, build, and boot a demo guest: `guestmem info`, then `guestmem run`
# with its defaults (kvm where /dev/kvm works, else the emulator; shmem
# store; memtest over 32 MiB), then leakcheck on private memory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -d build ] || meson setup build --buildtype=debugoptimized >/dev/null
ninja -C build >/dev/null
./build/src/cli/guestmem info
echo
./build/src/cli/guestmem run
echo
./build/src/cli/guestmem run --private --workload leakcheck
