#!/usr/bin/env bash
# What gzip saves and costs: one server on embedded defaults with 30 photos, and for the
# front page (spliced from pieces gzipped once, codec::SplicedGzip), a photo page and the
# feed API (gzipped per response, level 1) and the stylesheet (gzipped at start-up): the
# bytes sent and the server's CPU per request, without and with "Accept-Encoding: gzip".
# Prints CSV (page,encoding,run,bytes,rps,p99_ms,cpu_us_per_request).
#
#   bench/compression.sh [--build DIR] [--repeats N] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/lib/common.sh
source "$root/bench/lib/common.sh"
build=$root/build repeats=3 seconds=4
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) sed -n 8p "$0" >&2; exit 2 ;;
  esac
done
bin=$build/photoshare
make_work gzip
port=$(free_port)
start_photoshare "$work/data" "$port" --set log.level=warn --set log.access=false
base=http://127.0.0.1:$port
csrf=$(login "$base" "$work/jar")
image=$(ls "${PHOTOSHARE_TESTDATA:-$root/../shared/testdata}"/images/edge/exif-samples/*.jpg | head -1)
for _ in $(seq 30); do
  curl -sf -o /dev/null -b "$work/jar" -H "X-CSRF-Token: $csrf" -F "photo=@$image;type=image/jpeg" "$base/api/v1/photos"
done
photo=$(curl -sf "$base/api/v1/photos?limit=1" | sed 's/.*"page_url":"\([^"]*\)".*/\1/')
css=$(curl -sf "$base/" | sed -n 's/.*href="\(\/static\/style.css?v=[0-9a-f]*\)".*/\1/p')
echo "page,encoding,run,bytes,rps,p99_ms,cpu_us_per_request"
for run in $(seq 1 "$repeats"); do
  for page in "/" "$photo" "/api/v1/photos" "$css"; do
    for encoding in identity gzip; do
      bytes=$(curl -s -o /dev/null -w '%{size_download}' -H "Accept-Encoding: $encoding" "$base$page")
      read -r rps p99 cpu < <(cpu_per_request "$server_pid" "$work/out" "$seconds" -H "Accept-Encoding: $encoding" "$base$page")
      echo "$page,$encoding,$run,$bytes,$rps,$p99,$cpu"
    done
  done
done
