#!/usr/bin/env bash
# Set up, build and run the whole test suite three times: a normal build,
# AddressSanitizer + UndefinedBehaviorSanitizer, and ThreadSanitizer for the
# concurrency tests; what needs KVM or guest_memfd that this machine lacks
# runs in the KVM lab (scripts/kvm-lab.sh); then the fuzzers.  Any failure
# or sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# The kvm registrations (suite kvm) need /dev/kvm, and the guest_memfd
# tests (suite gmem) a KVM with guest_memfd.  Each runs natively where this
# machine has it, else in the KVM lab (scripts/kvm-lab.sh: real KVM nested
# on an emulated CPU, with a lab kernel that has guest_memfd).  Suite linux
# boots the lab's kernel with `guestmem run --kernel` (GUESTMEM_LINUX_KERNEL),
# natively where KVM runs CPL-0 guest code in hardware, else in the lab.
# GUESTMEM_LAB=always sends all three to the lab; GUESTMEM_LAB=never runs them
# natively, where they skip (77) with their reason if the part is missing.
lab_mode=${GUESTMEM_LAB:-auto}
lab_suites=()
where_kvm_runs() {	# build-dir
	local info
	info=$("$1/src/cli/guestmem" info --json)
	lab_suites=()
	case $lab_mode in
	always) lab_suites=(kvm gmem linux); return ;;
	never) return ;;
	esac
	python3 -c 'import json,sys; sys.exit(not json.load(sys.stdin)["kvm"]["available"])' \
		<<<"$info" || lab_suites+=(kvm)
	python3 -c 'import json,sys; sys.exit(not json.load(sys.stdin)["guest_memfd"]["available"])' \
		<<<"$info" || lab_suites+=(gmem)
	# Linux boots where KVM runs CPL-0 code in hardware (kvm_pvm emulates it).
	if [[ " ${lab_suites[*]} " == *" kvm "* ]] ||
	   ! { [ -e /sys/module/kvm_amd ] || [ -e /sys/module/kvm_intel ]; }; then
		lab_suites+=(linux)
	fi
}

# The kernel that suite linux boots (guestmem run --kernel): the lab's own.
linux_kernel() {
	if [ -z "${GUESTMEM_LINUX_KERNEL:-}" ] &&
	   ! GUESTMEM_LINUX_KERNEL=$(bash scripts/lab-kernel.sh); then
		echo "== the lab kernel did not build: suite linux cannot boot it"
		GUESTMEM_LINUX_KERNEL=""
		status=1
	fi
	export GUESTMEM_LINUX_KERNEL
}

setup_build() {	# build-dir setup-options...
	local dir=$1; shift
	[ -d "$dir" ] || meson setup "$dir" "$@" >/dev/null
	ninja -C "$dir" >/dev/null
}

run_suites() {	# build-dir setup-options... -- suites...
	local dir=$1; shift
	local opts=()
	while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
	setup_build "$dir" "${opts[@]}"
	local suites=() s
	for s in "$@"; do suites+=(--suite "$s"); done
	for s in "${lab_suites[@]}"; do suites+=(--no-suite "$s"); done
	echo "== $dir: ${*}${lab_suites[*]:+ (${lab_suites[*]} in the KVM lab)}"
	meson test -C "$dir" "${suites[@]}" --print-errorlogs --num-processes 2 || status=1
	python3 scripts/summary.py "$dir/meson-logs/testlog.json" >>"$summary"
}

# The suites that need the lab, for the plain and the ASan+UBSan builds, in
# one boot of the lab, and where guest_memfd is the lab's, the kernel's own
# guest_memfd selftests.  Each build's results count like the others; a
# selftest counts as one test (exit 4: skipped, as kselftest says).
LAB_BUILDS=(build build-asan)
LAB_SELFTESTS=(guest_memfd_test private_mem_conversions_test)
run_lab() {
	((${#lab_suites[@]})) || return 0
	local cmds=() dir s suites=() selftests="" rc n
	for s in "${lab_suites[@]}"; do suites+=(--suite "$s"); done
	for dir in "${LAB_BUILDS[@]}"; do
		rm -f "$dir/meson-logs/testlog-lab.json"
		cmds+=("ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS \
GUESTMEM_LINUX_KERNEL=$GUESTMEM_LINUX_KERNEL meson test -C $dir \
${suites[*]} --no-rebuild --logbase testlog-lab --print-errorlogs --num-processes 2 \
--timeout-multiplier 4")
	done
	if [[ " ${lab_suites[*]} " == *" gmem "* ]]; then
		if selftests=$(bash scripts/lab-kernel.sh selftests); then
			for s in "${LAB_SELFTESTS[@]}"; do cmds+=("$selftests/$s"); done
		else
			echo "== KVM lab: the guest_memfd selftests of Linux did not build"
			echo "0 ${#LAB_SELFTESTS[@]} 0" >>"$summary"
			status=1
			selftests=""
		fi
	fi
	echo "== KVM lab: suites ${lab_suites[*]} of the builds ${LAB_BUILDS[*]}${selftests:+ and the guest_memfd selftests of Linux} (real KVM on an emulated CPU)"
	rc=0
	bash scripts/kvm-lab.sh --timeout "${LAB_SECONDS:-2700}" "${cmds[@]}" || rc=$?
	# 124: out of time; 125: the lab itself failed.  Else the logs say.
	((rc != 124 && rc != 125)) || status=1
	for dir in "${LAB_BUILDS[@]}"; do
		if [ -f "$dir/meson-logs/testlog-lab.json" ]; then
			python3 scripts/summary.py "$dir/meson-logs/testlog-lab.json" >>"$summary"
			python3 scripts/summary.py "$dir/meson-logs/testlog-lab.json" |
				awk '$2 > 0 { exit 1 }' || status=1
		else
			echo "0 1 0" >>"$summary"	# the lab did not get that far
			status=1
		fi
	done
	[ -n "$selftests" ] || return 0
	for ((n = ${#LAB_BUILDS[@]} + 1; n <= ${#cmds[@]}; n++)); do
		rc=$(cat "build-lab/last/$n.rc" 2>/dev/null || echo 1)
		case $rc in
		0) echo "1 0 0" ;;
		4) echo "0 0 1" ;;
		*) echo "0 1 0"; status=1 ;;
		esac >>"$summary"
	done
}

# The libFuzzer harnesses (fuzz/), FUZZ_SECONDS each from their seed corpus
# (copied, so that the tree is not written).  Each counts as one test in the
# summary; a finding fails the run and is kept under build-fuzz/findings/.
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZERS=(fuzz-ops fuzz-hypercall)
run_fuzzers() {
	if ! command -v clang >/dev/null; then
		echo "== build-fuzz: skipped: clang is not installed (scripts/deps.sh installs it)"
		echo "0 0 ${#FUZZERS[@]}" >>"$summary"
		return
	fi
	if ! { [ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=enabled >/dev/null; } ||
	   ! ninja -C build-fuzz "${FUZZERS[@]/#/fuzz/}" >/dev/null; then
		echo "== build-fuzz: the harnesses did not build"
		echo "0 ${#FUZZERS[@]} 0" >>"$summary"
		status=1
		return
	fi
	echo "== build-fuzz: ${FUZZERS[*]}, ${FUZZ_SECONDS} s each"
	local h work done passed=0 failed=0
	for h in "${FUZZERS[@]}"; do
		work=$(mktemp -d)
		mkdir "$work/corpus" "$work/findings"
		cp fuzz/corpus/"$h"/* "$work/corpus/"
		if build-fuzz/fuzz/"$h" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
			-artifact_prefix="$work/findings/" "$work/corpus" >"$work/log" 2>&1; then
			done=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$work/log" | tail -1)
			echo "$h: $(awk '{print $2}' <<<"$done") executions in $(awk '{print $5}' <<<"$done") s, no finding"
			passed=$((passed + 1))
		else
			mkdir -p build-fuzz/findings
			cp "$work"/findings/* build-fuzz/findings/ 2>/dev/null || true
			grep -E 'guestmem fuzz:|ERROR:|SUMMARY:|^ *#[0-9]+ .* \.\./(src|fuzz)/' "$work/log" | head -30
			echo "$h: FINDING (input kept in build-fuzz/findings/; replay: build-fuzz/fuzz/$h FILE)"
			failed=$((failed + 1))
			status=1
		fi
		rm -rf "$work"
	done
	echo "$passed $failed 0" >>"$summary"
}

status=0
summary=$(mktemp)
setup_build build
where_kvm_runs build
linux_kernel
run_suites build -- unit concurrency kvm linux
run_suites build-asan -Db_sanitize=address,undefined -Db_lundef=false -- unit concurrency kvm linux
run_suites build-tsan -Db_sanitize=thread -Db_lundef=false -- concurrency
run_lab
run_fuzzers
python3 scripts/summary.py --total "$summary"
rm -f "$summary"
exit $status
