# Sourced by run-brief.sh, run-long.sh and save-corpus.sh: gathers a target's seeds into a directory.
#   fuzz_seeds TARGET DEST
# Seeds are tests/fuzz/corpus/TARGET/ plus, copied from the shared test data (never into the
# repository): the browser captures for multipart, AWS's SigV4 test suite requests (*.req,
# fuzz_sigv4's input format) for sigv4, and every test image for image.
# fuzz_extra_args TARGET prints the libFuzzer options a target needs beyond the common ones.

fuzz_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fuzz_testdata=${PHOTOSHARE_TESTDATA:-$(cd "$fuzz_here/../../.." && pwd)/shared/testdata}
[ -d "$fuzz_testdata" ] || fuzz_testdata=/work/shared/testdata

fuzz_targets=(multipart cookies form target router urldecode sigv4 image)

fuzz_seeds() {
  local target=$1 dest=$2 f
  mkdir -p "$dest"
  cp "$fuzz_here/corpus/$target/"* "$dest/" 2>/dev/null || true
  case $target in
    multipart)
      [ -d "$fuzz_testdata/multipart" ] || return 0
      # Werkzeug bodies start with "--boundary", formidable files are whole HTTP requests:
      # fuzz_multipart understands both forms.
      for f in "$fuzz_testdata"/multipart/werkzeug/*/request.http "$fuzz_testdata"/multipart/werkzeug/*.http \
               "$fuzz_testdata"/multipart/formidable/http/*/*.http; do
        [ -f "$f" ] && cp "$f" "$dest/capture-$(echo "${f#"$fuzz_testdata"/multipart/}" | tr '/' '_')"
      done
      ;;
    sigv4)
      [ -d "$fuzz_testdata/sigv4/aws-sig-v4-test-suite" ] || return 0
      while IFS= read -r -d '' f; do
        cp "$f" "$dest/aws-$(basename "$f")"
      done < <(find "$fuzz_testdata/sigv4/aws-sig-v4-test-suite" -name '*.req' -print0)
      ;;
    image)
      # Accepted formats, broken and truncated files, decompression bombs, other formats.
      [ -d "$fuzz_testdata/images" ] || return 0
      while IFS= read -r -d '' f; do
        cp "$f" "$dest/$(echo "${f#"$fuzz_testdata"/images/}" | tr '/#' '__')"
      done < <(find "$fuzz_testdata/images" -type f \( -name '*.png' -o -name '*.jp*g' -o -name '*.gif' \
                 -o -name '*.webp' -o -name '*.ico' \) -print0)
      ;;
  esac
  return 0
}

fuzz_extra_args() {
  case $1 in
    # Only our code is instrumented, not libvips: keep every seed image as a starting point
    # even when it adds no coverage of ours, and cross over with all of them.
    image) echo "-keep_seed=1 -cross_over_uniform_dist=1" ;;
  esac
}
