#!/usr/bin/env bash
# Install what guestmem needs from Debian, only where it is missing: the
# build's and tests' packages, or those named (the KVM lab's scripts name
# theirs).  Each package and why: see README.md, "Dependencies".
set -euo pipefail
pkgs=(gcc binutils pkg-config meson ninja-build liburcu-dev libunicorn-dev libcmocka-dev libsodium-dev
      clang libclang-rt-14-dev)
(($# == 0)) || pkgs=("$@")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "installing: ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
