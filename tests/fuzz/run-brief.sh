#!/usr/bin/env bash
# Runs fuzz targets for SECONDS each on their seed corpus and fails on any finding.
#   tests/fuzz/run-brief.sh BUILD_DIR SECONDS [TARGET...]     (default: every target)
# BUILD_DIR was configured with -DCMAKE_CXX_COMPILER=clang++ -DPHOTOSHARE_FUZZ=ON and the
# fuzz_* targets built (cmake --build BUILD_DIR --target fuzz_all). Seeds: see seeds.sh.
# Crash inputs and logs are kept in BUILD_DIR/fuzz-findings/. docs/RELIABILITY.md says more.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
# shellcheck source=seeds.sh
source "$(dirname "$0")/seeds.sh"
targets=("${fuzz_targets[@]}")
[ $# -gt 0 ] && targets=("$@")

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
findings=$build/fuzz-findings
mkdir -p "$findings"

failed=()
for target in "${targets[@]}"; do
  exe=$build/tests/fuzz/fuzz_$target
  if [ ! -x "$exe" ]; then
    echo "missing $exe (build the fuzz_* targets first)" >&2
    exit 2
  fi
  work=$scratch/$target
  mkdir -p "$work/corpus"
  fuzz_seeds "$target" "$work/seeds"
  read -r -a extra <<<"$(fuzz_extra_args "$target")"

  echo "== fuzz_$target for ${seconds}s"
  log=$findings/fuzz_$target.log
  # New inputs go to the scratch corpus; crash-*, leak-*, timeout-* files to findings.
  if "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       ${extra[@]+"${extra[@]}"} -artifact_prefix="$findings/fuzz_$target-" "$work/corpus" "$work/seeds" >"$log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)" "$log" || true
  else
    echo "fuzz_$target FOUND A PROBLEM; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz findings in: ${failed[*]} (inputs in $findings)" >&2
  exit 1
fi
echo "no findings"
