#!/usr/bin/env bash
# Runs every fuzz target for SECONDS on its seed corpus and fails on any finding.
#   tests/fuzz/run-brief.sh BUILD_DIR SECONDS
# BUILD_DIR was configured with -DCMAKE_CXX_COMPILER=clang++ -DPHOTOSHARE_FUZZ=ON and the
# fuzz_* targets built. Seeds come from tests/fuzz/corpus/<target>/ and, for multipart, the
# browser captures in the shared test data (copied to a scratch directory, never into the
# repository). Crash inputs and logs are kept in BUILD_DIR/fuzz-findings/.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
testdata=${PHOTOSHARE_TESTDATA:-$(cd "$here/../../.." && pwd)/shared/testdata}
[ -d "$testdata" ] || testdata=/work/shared/testdata

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
findings=$build/fuzz-findings
mkdir -p "$findings"

seed_multipart_captures() {
  local dest=$1 f
  [ -d "$testdata/multipart" ] || return 0
  # Werkzeug bodies start with "--boundary", formidable files are whole HTTP requests:
  # fuzz_multipart understands both forms.
  for f in "$testdata"/multipart/werkzeug/*/request.http "$testdata"/multipart/werkzeug/*.http \
           "$testdata"/multipart/formidable/http/*/*.http; do
    [ -f "$f" ] && cp "$f" "$dest/capture-$(echo "${f#"$testdata"/multipart/}" | tr '/' '_')"
  done
  return 0
}

failed=()
for target in multipart cookies form target; do
  exe=$build/tests/fuzz/fuzz_$target
  if [ ! -x "$exe" ]; then
    echo "missing $exe (build the fuzz_* targets first)" >&2
    exit 2
  fi
  work=$scratch/$target
  mkdir -p "$work/corpus" "$work/seeds"
  cp "$here/corpus/$target/"* "$work/seeds/"
  [ "$target" = multipart ] && seed_multipart_captures "$work/seeds"

  echo "== fuzz_$target for ${seconds}s"
  log=$findings/fuzz_$target.log
  # New inputs go to the scratch corpus; crash-*, leak-*, timeout-* files to findings.
  if "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$findings/fuzz_$target-" "$work/corpus" "$work/seeds" >"$log" 2>&1; then
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
