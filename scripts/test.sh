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

status=0
summary=$(mktemp)
run_suites build -- unit concurrency kvm
run_suites build-asan -Db_sanitize=address,undefined -Db_lundef=false -- unit concurrency kvm
run_suites build-tsan -Db_sanitize=thread -Db_lundef=false -- concurrency
python3 scripts/summary.py --total "$summary"
rm -f "$summary"
exit $status
