#!/usr/bin/env bash
# Set up, build and run the whole test suite three times: a normal build,
# AddressSanitizer + UndefinedBehaviorSanitizer, and ThreadSanitizer for the
# concurrency tests.  Any failure or sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

run_suites() {	# build-dir setup-options... -- suites...
	local dir=$1; shift
	local opts=()
	while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
	[ -d "$dir" ] || meson setup "$dir" "${opts[@]}" >/dev/null
	ninja -C "$dir" >/dev/null
	local suites=()
	for s in "$@"; do suites+=(--suite "$s"); done
	echo "== $dir: ${*}"
	meson test -C "$dir" "${suites[@]}" --print-errorlogs --num-processes 2 || status=1
	python3 scripts/summary.py "$dir/meson-logs/testlog.json" >>"$summary"
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
run_suites build -- unit concurrency kvm
run_suites build-asan -Db_sanitize=address,undefined -Db_lundef=false -- unit concurrency kvm
run_suites build-tsan -Db_sanitize=thread -Db_lundef=false -- concurrency
run_fuzzers
python3 scripts/summary.py --total "$summary"
rm -f "$summary"
exit $status
