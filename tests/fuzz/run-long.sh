#!/usr/bin/env bash
# A long run of one fuzz target, niced, resumable, with its statistics recorded.
#   tests/fuzz/run-long.sh BUILD_DIR TARGET RUNS [SECONDS]
# Runs BUILD_DIR/tests/fuzz/fuzz_TARGET until RUNS executions (or SECONDS, when given and
# reached first). The corpus it grows is kept in BUILD_DIR/fuzz-long/TARGET/corpus, so a
# second run continues where the first stopped; seeds as in run-brief.sh (seeds.sh).
# Crash, leak, timeout and OOM inputs go to BUILD_DIR/fuzz-long/TARGET/; the log to
# BUILD_DIR/fuzz-long/TARGET/run-DATE-PID.log; one line per run to BUILD_DIR/fuzz-long/summary.tsv
# (UTC start, target, git commit, executions, exec/s, peak RSS MB, new units, exit status).
# Exit status: libFuzzer's (0: no finding). Environment: NICE (default 10), FUZZ_ARGS (more
# libFuzzer options).
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 BUILD_DIR TARGET RUNS [SECONDS]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
target=$2
runs=$3
seconds=${4:-0}
# shellcheck source=seeds.sh
source "$(dirname "$0")/seeds.sh"

exe=$build/tests/fuzz/fuzz_$target
[ -x "$exe" ] || { echo "missing $exe (build the fuzz_* targets first)" >&2; exit 2; }
dir=$build/fuzz-long/$target
mkdir -p "$dir/corpus"
# Per run (several may run at once on the same corpus): its own copy of the seeds, its own log.
seeds=$dir/seeds-$$
rm -rf "$seeds"
trap 'rm -rf "$seeds"' EXIT
fuzz_seeds "$target" "$seeds"
read -r -a extra <<<"$(fuzz_extra_args "$target") ${FUZZ_ARGS:-}"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log=$dir/run-$(date -u +%Y%m%dT%H%M%SZ)-$$.log
commit=$(git -C "$fuzz_here" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$fuzz_here" status --porcelain -- ../../src 2>/dev/null | grep -q . && echo "+dirty" || true)

{
  echo "# $started fuzz_$target commit $commit$dirty runs=$runs max_total_time=$seconds"
  echo "# $exe ${extra[*]+${extra[*]}}"
  echo "# ASAN_OPTIONS=${ASAN_OPTIONS:-} UBSAN_OPTIONS=${UBSAN_OPTIONS:-}"
} >"$log"
status=0
nice -n "${NICE:-10}" "$exe" -runs="$runs" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
  -print_final_stats=1 -print_pcs=0 ${extra[@]+"${extra[@]}"} -artifact_prefix="$dir/" \
  "$dir/corpus" "$seeds" >>"$log" 2>&1 || status=$?

stat() { grep -E "^stat::$1:" "$log" | awk '{print $2}' | tail -n 1; }
printf '%s\t%s\t%s%s\t%s\t%s\t%s\t%s\t%s\n' "$started" "$target" "$commit" "$dirty" "$(stat number_of_executed_units)" \
  "$(stat average_exec_per_sec)" "$(stat peak_rss_mb)" "$(stat new_units_added)" "$status" >>"$build/fuzz-long/summary.tsv"
grep -E "^stat::" "$log" || true
[ "$status" -eq 0 ] || { echo "fuzz_$target: exit $status, see $log" >&2; tail -n 40 "$log" >&2; }
exit "$status"
