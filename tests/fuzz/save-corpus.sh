#!/usr/bin/env bash
# Keeps in the repository what a long run found: the inputs of BUILD_DIR/fuzz-long/TARGET/corpus
# that reach coverage the seeds do not, chosen by libFuzzer's merge, are added to
# tests/fuzz/corpus/TARGET/ (named by their SHA-1, as libFuzzer names them).
#   tests/fuzz/save-corpus.sh BUILD_DIR TARGET...
# The seeds are those of seeds.sh, so nothing of the shared test data is copied; only inputs
# the fuzzer made are. CI's brief runs (run-brief.sh) then start from them.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR TARGET..." >&2
  exit 2
fi
build=$(cd "$1" && pwd)
shift
# shellcheck source=seeds.sh
source "$(dirname "$0")/seeds.sh"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for target in "$@"; do
  exe=$build/tests/fuzz/fuzz_$target
  grown=$build/fuzz-long/$target/corpus
  [ -x "$exe" ] || { echo "missing $exe (build the fuzz_* targets first)" >&2; exit 2; }
  [ -d "$grown" ] || { echo "no long-run corpus in $grown (run run-long.sh first)" >&2; exit 2; }
  work=$scratch/$target
  mkdir -p "$work/kept"
  fuzz_seeds "$target" "$work/seeds"
  # First what the seeds cover, then what the grown corpus adds to that.
  "$exe" -merge=1 "$work/kept" "$work/seeds" >"$work/merge-seeds.log" 2>&1 ||
    { echo "fuzz_$target: merging the seeds failed, see below" >&2; tail -n 20 "$work/merge-seeds.log" >&2; exit 1; }
  ls "$work/kept" >"$work/before"
  "$exe" -merge=1 "$work/kept" "$grown" >"$work/merge-grown.log" 2>&1 ||
    { echo "fuzz_$target: merging the long-run corpus failed, see below" >&2; tail -n 20 "$work/merge-grown.log" >&2; exit 1; }
  dest=$fuzz_here/corpus/$target
  mkdir -p "$dest"
  added=0
  # The names the second merge added (a name is the content's SHA-1, so one already in the
  # repository is the same input).
  while IFS= read -r name; do
    [ -e "$dest/$name" ] || { cp "$work/kept/$name" "$dest/$name"; added=$((added + 1)); }
  done < <(ls "$work/kept" | comm -13 "$work/before" -)
  echo "fuzz_$target: $added inputs added to tests/fuzz/corpus/$target ($(ls "$dest" | wc -l) in all)"
done
