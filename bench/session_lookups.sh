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
two_builds_options 2,9 "$@"
make_work sessions
at_cleanup() {
  scripts/service stop redis "$work/redis" >/dev/null 2>&1 || true
}
redis_url=$(scripts/service start redis "$work/redis" "$(free_port)")
declare -A port pid cookie
start_two_builds "$work" --set log.level=warn --set "cache.url=$redis_url" --set "sessions.url=$redis_url" --set sessions.max_staleness=0
for which in this baseline; do
  curl -sf -H "Cookie: ${cookie[$which]}" "http://127.0.0.1:${port[$which]}/" | grep -q 'action="/logout"' ||
    { echo "$which: the cookie does not log in" >&2; exit 1; }
done
echo "build,run,rps,p99_ms,cpu_us_per_request"
for run in $(seq 1 "$repeats"); do
  for which in this baseline; do
    url=http://127.0.0.1:${port[$which]}/
    read -r rps p99 cpu < <(cpu_per_request "${pid[$which]}" "$work/out" "$seconds" -H "Cookie: ${cookie[$which]}" "$url")
    echo "$which,$run,$rps,$p99,$cpu"
  done
done
