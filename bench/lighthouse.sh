#!/usr/bin/env bash
# Lighthouse (performance, accessibility, best practices, SEO) on the pages people see: the
# front page, a photo page, the login page and the upload page (the front page as a member),
# with mobile and desktop settings, against one server on embedded defaults with 12 photos
# WIDTH px wide (default 600, as in the table of docs/PERFORMANCE.md; 4032 is what a phone
# camera writes), in Debian's chromium. Each page RUNS times; prints CSV of every run, then
# the median score of each category per page (the table in docs/PERFORMANCE.md).
#
#   bench/lighthouse.sh [--build DIR] [--runs N] [--photo-width WIDTH]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/lib/common.sh
source "$root/bench/lib/common.sh"
build=$root/build runs=3 photo_width=600
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --photo-width) photo_width=$2; shift 2 ;;
    *) sed -n 9p "$0" >&2; exit 2 ;;
  esac
done
[[ -x bench/lighthouse/node_modules/.bin/lighthouse ]] ||
  (cd bench/lighthouse && npm ci --no-audit --no-fund --loglevel=error) >&2
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
bin=$build/photoshare
make_work lighthouse
port=$(free_port)
start_photoshare "$work/data" "$port" --set log.level=warn --set log.access=false
base=http://127.0.0.1:$port
csrf=$(login "$base" "$work/jar")
camera="${PHOTOSHARE_TESTDATA:-$root/../shared/testdata}/images/edge/exif-samples/DSCN0010.jpg"
for i in $(seq 1 12); do  # twelve different photos: crops of one camera picture, enlarged
  vips crop "$camera" "$work/c$i.v" $((i * 3)) $((i * 2)) 600 420
  vips resize "$work/c$i.v" "$work/p$i.jpg" "$(awk -v w="$photo_width" 'BEGIN { print w / 600 }')"
  curl -sf -o /dev/null -b "$work/jar" -H "X-CSRF-Token: $csrf" -F "photo=@$work/p$i.jpg;type=image/jpeg" "$base/api/v1/photos"
done
photo=$(curl -sf "$base/api/v1/photos?limit=1" | sed 's/.*"page_url":"\([^"]*\)".*/\1/')
cookie="ps_session=$(session_cookie "$work/jar")"

run_lighthouse() {  # PRESET URL [extra headers JSON] -> "perf a11y bp seo"
  local preset=$1 url=$2 headers=${3:-}
  local args=(--quiet --chrome-flags="--headless=new --no-sandbox" --output=json --output-path="$work/report.json"
    --only-categories=performance,accessibility,best-practices,seo)
  [[ $preset == desktop ]] && args+=(--preset=desktop)
  [[ -n $headers ]] && args+=(--extra-headers="$headers")
  # One retry: a run that writes no report would otherwise end this script silently.
  rm -f "$work/report.json"
  bench/lighthouse/node_modules/.bin/lighthouse "$url" "${args[@]}" >/dev/null 2>"$work/lighthouse.err" ||
    bench/lighthouse/node_modules/.bin/lighthouse "$url" "${args[@]}" >/dev/null 2>"$work/lighthouse.err" ||
    { echo "lighthouse failed twice on $preset $url:" >&2; tail -5 "$work/lighthouse.err" >&2; exit 1; }
  node -e 'const c = require(process.argv[1]).categories;
    console.log(["performance", "accessibility", "best-practices", "seo"].map((k) => Math.round(c[k].score * 100)).join(" "))' \
    "$work/report.json"
}

echo "preset,page,run,performance,accessibility,best_practices,seo" | tee "$work/runs.csv"
for preset in mobile desktop; do
  for page in front photo login upload; do
    case $page in
      front) url=$base/ headers='' ;;
      photo) url=$base$photo headers='' ;;
      login) url=$base/login headers='' ;;
      upload) url=$base/ headers="{\"Cookie\": \"$cookie\"}" ;;
    esac
    for run in $(seq 1 "$runs"); do
      read -r perf a11y bp seo < <(run_lighthouse "$preset" "$url" "$headers")
      echo "$preset,$page,$run,$perf,$a11y,$bp,$seo" | tee -a "$work/runs.csv"
    done
  done
done
echo
echo "| page | settings | performance | accessibility | best practices | SEO |"
echo "|---|---|---|---|---|---|"
for preset in mobile desktop; do
  for page in front photo login upload; do
    row="| $page | $preset"
    for col in 4 5 6 7; do
      row="$row | $(awk -F, -v p="$preset" -v g="$page" -v c="$col" '$1==p && $2==g {print $c}' "$work/runs.csv" | median)"
    done
    echo "$row |"
  done
done
