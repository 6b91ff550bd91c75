#!/usr/bin/env bash
# Levels 1 and 4 benchmark, through HAProxy on this machine (scripts/stack):
#   1. scaling: every server with the latency knob at 50 ms and 16 slots (a server works on
#      16 page requests at once, like a pool of PHP workers), GET / with 1, 2, 3, 4 servers;
#   2. the feed cache: 3 servers under ~1,000 GET/s plus 5 uploads/s for a minute; feed
#      queries that reach the database per minute with the cache (generation scheme), with
#      the seed's delete-on-upload scheme, and with no cache.
# Rewrites the "Levels 1 and 4" section of docs/PERFORMANCE.md.
#
#   bench/level1.sh [--db postgres|mariadb] [--cache memcached|redis]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
db=postgres cache=memcached
while [[ $# -gt 0 ]]; do
  case $1 in
    --db) db=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    *) echo "usage: $0 [--db postgres|mariadb] [--cache memcached|redis]" >&2; exit 2 ;;
  esac
done
duration=${DURATION:-15s}
feed_seconds=${FEED_SECONDS:-60}
for tool in wrk curl; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done

work=$(mktemp -d)
chmod 755 "$work"  # PostgreSQL and MariaDB run as their own users when we are root
port=$((20000 + RANDOM % 20000))
stack_dir=$work/stack
cleanup() {
  [[ -d $stack_dir ]] && scripts/stack down --dir "$stack_dir" >/dev/null 2>&1 || true
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

lb() { echo "http://127.0.0.1:$port"; }
wrk_rps() { wrk "$@" | awk '/^Requests\/sec/{print $2}'; }
# Sum of a counter over every server's /metrics (each reached directly).
metric_sum() {  # NAME_WITH_LABELS
  local total=0 n v
  for n in $(seq 1 "$servers"); do
    v=$(curl -sf "http://127.0.0.1:$((port + 10 + n))/metrics" | awk -v m="$1" 'index($0, m " ")==1{print $2}')
    total=$(awk -v a="$total" -v b="${v:-0}" 'BEGIN{printf "%.0f", a+b}')
  done
  echo "$total"
}
login() {  # prints the CSRF token; cookie jar in $work/jar
  curl -sf -o /dev/null -X POST "$(lb)/api/v1/users" -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' || true
  curl -sf -c "$work/jar" -X POST "$(lb)/api/v1/session" -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/'
}
testdata=${PHOTOSHARE_TESTDATA:-$root/../shared/testdata}
[[ -d $testdata ]] || testdata=/work/shared/testdata
small_photo=$testdata/images/pngsuite/basn2c08.png

# ---------------------------------------------------------------------------------------
echo "==> scaling: latency knob 50 ms, 16 slots per server, 1-4 servers"
servers=4
scripts/stack up --level 4 --servers 4 --db "$db" --cache "$cache" --dir "$stack_dir" --port "$port" \
  --set knobs.latency_ms=50 --set knobs.slots=16 >"$work/up.log"
token=$(login)
for _ in 1 2 3; do curl -sf -o /dev/null -b "$work/jar" -H "X-CSRF-Token: $token" -F "photo=@$small_photo" "$(lb)/api/v1/photos"; done
declare -A rps
for n in 4 3 2 1; do
  if ((n < 4)); then
    scripts/stack stop "web-$((n + 1))" --dir "$stack_dir" >/dev/null
    sleep 4  # HAProxy notices (health checks every second, two failures)
  fi
  wrk -t2 -c128 -d3s "$(lb)/" >/dev/null  # warm
  rps[$n]=$(wrk_rps -t2 -c128 -d"$duration" "$(lb)/")
  echo "    $n server(s): ${rps[$n]} req/s"
done
scaling=$(awk -v a="${rps[4]}" -v b="${rps[1]}" 'BEGIN{printf "%.2f", a/b}')
scripts/stack down --dir "$stack_dir" >/dev/null
rm -rf "$stack_dir"

# ---------------------------------------------------------------------------------------
servers=3
declare -A queries views uploads
for mode in generation delete off; do
  echo "==> feed cache '$mode': 3 servers, ~1000 GET/s + 5 uploads/s for ${feed_seconds}s"
  scripts/stack up --level 4 --servers 3 --db "$db" --cache "$cache" --dir "$stack_dir" --port "$port" \
    --set cache.invalidation="$mode" --set log.access=false >"$work/up.log"
  token=$(login)
  curl -sf -o /dev/null "$(lb)/"
  before=$(metric_sum 'photoshare_db_query_duration_seconds_count{op="latest_photos"}')
  (
    end=$((SECONDS + feed_seconds))
    while ((SECONDS < end)); do
      curl -s -o /dev/null -w '%{http_code}\n' -b "$work/jar" -H "X-CSRF-Token: $token" -F "photo=@$small_photo" \
        "$(lb)/api/v1/photos" >>"$work/uploads.$mode" &
      sleep 0.2
    done
    wait
  ) &
  uploader=$!
  DELAY_MS=40 wrk -t2 -c40 -d"${feed_seconds}s" -s bench/paced.lua "$(lb)/" >"$work/wrk.$mode"
  wait "$uploader"
  after=$(metric_sum 'photoshare_db_query_duration_seconds_count{op="latest_photos"}')
  queries[$mode]=$(awk -v a="$after" -v b="$before" -v s="$feed_seconds" 'BEGIN{printf "%.0f", (a-b)*60/s}')
  views[$mode]=$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$work/wrk.$mode")
  uploads[$mode]=$(grep -c '^201$' "$work/uploads.$mode" | awk -v s="$feed_seconds" '{printf "%.0f", $1*60/s}')
  echo "    views ${views[$mode]}/s, uploads ${uploads[$mode]}/min, feed queries ${queries[$mode]}/min"
  scripts/stack down --dir "$stack_dir" >/dev/null
  rm -rf "$stack_dir"
done

cpu=$(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//')
section=$(cat <<EOF2
<!-- level1:begin (written by bench/level1.sh) -->
Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($cpu), everything on this one machine:
HAProxy, $db, $cache, the photoshare servers and the load generator.
Command: \`bench/level1.sh --db $db --cache $cache\`.

**Scaling** (\`knobs.latency_ms=50\`, \`knobs.slots=16\` on every server; \`wrk -t2 -c128 -d$duration\` on GET / through HAProxy):

| servers | 1 | 2 | 3 | 4 |
|---|---|---|---|---|
| req/s | ${rps[1]} | ${rps[2]} | ${rps[3]} | ${rps[4]} |
| vs one server | 1.00× | $(awk -v a="${rps[2]}" -v b="${rps[1]}" 'BEGIN{printf "%.2f", a/b}')× | $(awk -v a="${rps[3]}" -v b="${rps[1]}" 'BEGIN{printf "%.2f", a/b}')× | **${scaling}×** (target ≥ 3.6×) |

With slots s and latency L a server completes at most s / L requests a second (here
16 / 0.05 s = 320); the servers share nothing but the database and the cache, so
capacity adds up.

**The feed cache** (3 servers; GET / at a paced ~1,000/s: \`DELAY_MS=40 wrk -t2 -c40 -s bench/paced.lua\`;
5 uploads a second of a small PNG through HAProxy; ${feed_seconds} s per scheme):

| scheme (\`cache.invalidation\`) | views/s | uploads/min | feed queries reaching the database per minute |
|---|---|---|---|
| generation (default) | ${views[generation]} | ${uploads[generation]} | **${queries[generation]}** (target ≤ uploads/min + servers = $(( ${uploads[generation]} + 3 ))) |
| delete (the seed's delete-on-upload) | ${views[delete]} | ${uploads[delete]} | ${queries[delete]} |
| off (no feed cache) | ${views[off]} | ${uploads[off]} | ${queries[off]} |
<!-- level1:end -->
EOF2
)
doc=$root/docs/PERFORMANCE.md
if grep -q '<!-- level1:begin' "$doc"; then
  awk -v section="$section" '/<!-- level1:begin/{print section; skip=1} /<!-- level1:end -->/{skip=0; next} !skip' "$doc" >"$doc.new"
  mv "$doc.new" "$doc"
else
  printf '\n## Levels 1 and 4: servers behind HAProxy, shared database and cache\n\n%s\n' "$section" >>"$doc"
fi
echo "$section"
