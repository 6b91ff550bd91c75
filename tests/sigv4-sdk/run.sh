#!/usr/bin/env bash
# photoshare's SigV4 against the AWS SDK for JavaScript, on a few hundred generated S3 requests
# (odd keys, Unicode, spaces, '+', '%', query strings, header white space, session tokens;
# header-signed and presigned).
#
#   tests/sigv4-sdk/run.sh BUILD_DIR [--count N] [--seed S]
#
#  1. npm ci here when node_modules is missing or older than package-lock.json (pinned
#     @smithy/signature-v4, @aws-sdk/signature-v4, @smithy/hash-node, @smithy/core);
#  2. node generate.js BUILD_DIR/sigv4-sdk/cases.json: the same cases for the same seed;
#  3. cmake --build BUILD_DIR --target sigv4_sdk_compare (tests/CMakeLists.txt must have
#     add_subdirectory(sigv4-sdk));
#  4. sigv4_sdk_compare on the cases: fails on any difference.
#
# The SDK signs as the S3 client configures it: uriEscapePath false (client-s3 sets
# signingEscapePath: false; the key is encoded once, per segment, by the S3 serializer and the
# signer neither encodes it again nor normalises it), applyChecksum true for header signing
# (x-amz-content-sha256 added), and presigning both as the S3 documentation shows it and as
# S3RequestPresigner (getSignedUrl) does it. Details at the top of generate.js.
# Exit status: 0 all match, 1 a difference or a failed step, 2 usage, 77 node/npm missing (skip).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -lt 1 || $1 == -* ]]; then
    echo "usage: $0 BUILD_DIR [--count N] [--seed S]" >&2
    exit 2
fi
build=$(realpath -- "$1")
shift
[[ -f $build/CMakeCache.txt ]] || { echo "sigv4-sdk: $build is not a CMake build directory" >&2; exit 2; }
for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "sigv4-sdk: $tool is not installed; skipped" >&2; exit 77; }
done

if [[ ! -f $here/node_modules/@smithy/signature-v4/package.json ||
      $here/package-lock.json -nt $here/node_modules/.package-lock.json ]]; then
    echo "sigv4-sdk: installing the SDK (npm ci)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$build/sigv4-sdk"
cases=$build/sigv4-sdk/cases.json
node "$here/generate.js" "$cases" "$@"

if ! cmake --build "$build" --target sigv4_sdk_compare; then
    echo "sigv4-sdk: cannot build sigv4_sdk_compare in $build" \
         "(does tests/CMakeLists.txt have add_subdirectory(sigv4-sdk)?)" >&2
    exit 1
fi
compare=$(find "$build" -name sigv4_sdk_compare -type f -perm -u+x -print -quit)
[[ -n $compare ]] || { echo "sigv4-sdk: sigv4_sdk_compare not found under $build" >&2; exit 1; }
"$compare" "$cases"
