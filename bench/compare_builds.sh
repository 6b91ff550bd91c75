#!/usr/bin/env bash
# Two builds of photoshare on embedded defaults (level 0), side by side in one run: this one
# and a baseline (e.g. the commit before a refactoring). For the anonymous front page, a
# member's front page and GET /api/v1/photos the two servers alternate, five runs each;
# photoshare's own CPU per request comes from /proc, which a busy machine disturbs far less
# than requests per second.
#
#   bench/compare_builds.sh --baseline BUILD_DIR [--build DIR] [--repeats N] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/lib/common.sh
source "$root/bench/lib/common.sh"
build=$root/build baseline='' repeats=5 seconds=6
while [[ $# -gt 0 ]]; do
  case $1 in
    --baseline) baseline=$(realpath "$2"); shift 2 ;;
    --build) build=$(realpath "$2"); shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
  esac
done
[[ -n $baseline ]] || { sed -n '2,8p' "$0" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/photoshare-builds.XXXXXX")
started_pids=()
cleanup() {
  local p
  for p in "${started_pids[@]}"; do stop_pid "$p"; done
  rm -rf "$work"
}
trap cleanup EXIT
declare -A port pid cookie
for which in this baseline; do
  mkdir -p "$work/bin-$which"
  src=$build; [[ $which == baseline ]] && src=$baseline
  cp "$src/photoshare" "$src/libphotoshare-image.so" "$work/bin-$which/"
  bin=$work/bin-$which/photoshare
  port[$which]=$(free_port)
  start_photoshare "$work/$which" "${port[$which]}" --set log.level=warn
  pid[$which]=$server_pid
  login "http://127.0.0.1:${port[$which]}" "$work/$which.jar" >/dev/null
  cookie[$which]="ps_session=$(session_cookie "$work/$which.jar")"
done
echo "page,build,run,rps,p99_ms,cpu_us_per_request"
for page in anonymous member api; do
  for run in $(seq 1 "$repeats"); do
    for which in this baseline; do
      path=/; [[ $page == api ]] && path=/api/v1/photos
      headers=(); [[ $page == member ]] && headers=(-H "Cookie: ${cookie[$which]}")
      url=http://127.0.0.1:${port[$which]}$path
      wrk -t2 -c64 -d1s "${headers[@]}" "$url" >/dev/null 2>&1
      before=$(cpu_ticks "${pid[$which]}")
      wrk -t2 -c64 -d"${seconds}s" --latency "${headers[@]}" "$url" >"$work/out" 2>&1
      after=$(cpu_ticks "${pid[$which]}")
      read -r rps _ p99 requests _ < <(parse_wrk "$work/out")
      awk -v p="$page" -v w="$which" -v r="$run" -v rps="$rps" -v p99="$p99" -v n="$requests" -v t=$((after - before)) \
        -v hz="$clk_tck" 'BEGIN{printf "%s,%s,%s,%s,%s,%.1f\n", p, w, r, rps, p99, t / hz * 1e6 / n}'
    done
  done
done
