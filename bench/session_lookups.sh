#!/usr/bin/env bash
# A logged-in front page whose session must be read from Redis on every view
# (sessions.max_staleness = 0: no remembered sessions), served by two builds in one run: this
# one, which reads it with the asynchronous client on the I/O thread (kv::AsyncRedis), and a
# baseline build, e.g. of a commit that read it with the blocking client on the worker pool.
# The two servers alternate, five runs each; photoshare's own CPU per request from /proc.
#
#   bench/session_lookups.sh --baseline BUILD_DIR [--build DIR] [--repeats N] [--seconds S]
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
    *) sed -n '2,9p' "$0" >&2; exit 2 ;;
  esac
done
[[ -n $baseline ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/photoshare-sessions.XXXXXX")
started_pids=()
cleanup() {
  local p
  for p in "${started_pids[@]}"; do stop_pid "$p"; done
  scripts/service stop redis "$work/redis" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
redis_url=$(scripts/service start redis "$work/redis" "$(free_port)")
declare -A port pid cookie
for which in this baseline; do
  mkdir -p "$work/bin-$which"
  src=$build; [[ $which == baseline ]] && src=$baseline
  cp "$src/photoshare" "$src/libphotoshare-image.so" "$work/bin-$which/"
  bin=$work/bin-$which/photoshare
  port[$which]=$(free_port)
  start_photoshare "$work/$which" "${port[$which]}" --set log.level=warn --set "cache.url=$redis_url" \
    --set "sessions.url=$redis_url" --set sessions.max_staleness=0
  pid[$which]=$server_pid
  login "http://127.0.0.1:${port[$which]}" "$work/$which.jar" >/dev/null
  cookie[$which]="ps_session=$(session_cookie "$work/$which.jar")"
  curl -sf -H "Cookie: ${cookie[$which]}" "http://127.0.0.1:${port[$which]}/" | grep -q 'action="/logout"' ||
    { echo "$which: the cookie does not log in" >&2; exit 1; }
done
echo "build,run,rps,p99_ms,cpu_us_per_request"
for run in $(seq 1 "$repeats"); do
  for which in this baseline; do
    url=http://127.0.0.1:${port[$which]}/
    wrk -t2 -c64 -d1s -H "Cookie: ${cookie[$which]}" "$url" >/dev/null 2>&1
    before=$(cpu_ticks "${pid[$which]}")
    wrk -t2 -c64 -d"${seconds}s" --latency -H "Cookie: ${cookie[$which]}" "$url" >"$work/out" 2>&1
    after=$(cpu_ticks "${pid[$which]}")
    read -r rps _ p99 requests _ < <(parse_wrk "$work/out")
    awk -v w="$which" -v r="$run" -v rps="$rps" -v p99="$p99" -v n="$requests" -v t=$((after - before)) -v hz="$clk_tck" \
      'BEGIN{printf "%s,%s,%s,%s,%.1f\n", w, r, rps, p99, t / hz * 1e6 / n}'
  done
done
