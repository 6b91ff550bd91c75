#!/usr/bin/env bash
# One server at level 4 against the same server at level 0, in one run on this machine:
# the warm front page (GET /), anonymous and logged in, with
#   level 0     embedded defaults (SQLite, sessions in the database, feed cache in process)
#   memcached   the same, with cache.url and sessions.url on one memcached
#   redis       the same, with cache.url and sessions.url on one Redis
# Each point: wrk -t2 -cC -dS --latency; CPU per request is photoshare's own user + system
# time (all its threads, from /proc) over the requests wrk completed; the cache server's
# CPU is reported beside it. Configurations alternate within each repeat, in an order that
# rotates from one repeat to the next; the table shows medians with the spread, and the
# ratio against level 0 as the median of each repeat's own ratio (this machine is shared, and
# its speed drifts by more than the differences measured: a repeat's points are close in time).
#
#   bench/level4.sh [--repeats N] [--seconds S] [--connections C] [--build DIR]
#                   [--doc FILE] [--keep DIR] [--note TEXT]
#
# Writes DIR/level4.csv (with --keep) and rewrites the section between
# <!-- level4:begin --> and <!-- level4:end --> of docs/PERFORMANCE.md (or --doc FILE).
# Needs wrk, curl, memcached and redis-server; installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/lib/common.sh
source "$root/bench/lib/common.sh"

usage() { sed -n '12,13p' "$0" >&2; exit 2; }
repeats=5 seconds=6 connections=64 build=build doc=$root/docs/PERFORMANCE.md keep='' note=''
args=("$@")
while [[ $# -gt 0 ]]; do
  case $1 in
    --repeats) repeats=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --doc) doc=$(realpath -m "$2"); shift 2 ;;
    --keep) keep=$(realpath -m "$2"); shift 2 ;;
    --note) note=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $build == /* ]] || build=$root/$build
for tool in wrk curl memcached redis-server; do
  command -v "$tool" >/dev/null || { echo "bench/level4.sh needs $tool" >&2; exit 1; }
done
[[ -x $build/photoshare ]] || { echo "no $build/photoshare: build first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/photoshare-level4.XXXXXX")
chmod 755 "$work"
mkdir -p "$work/bin"
cp "$build/photoshare" "$build/libphotoshare-image.so" "$work/bin/"
bin=$work/bin/photoshare
started_pids=()
cleanup() {
  local p
  for p in "${started_pids[@]}"; do stop_pid "$p"; done
  scripts/service stop memcached "$work/memcached" >/dev/null 2>&1 || true
  scripts/service stop redis "$work/redis" >/dev/null 2>&1 || true
  if [[ -n $keep ]]; then mkdir -p "$keep"; cp "$work"/*.csv "$work"/*.wrk "$keep/" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

testdata=${PHOTOSHARE_TESTDATA:-$root/../shared/testdata}
photo=$testdata/images/pngsuite/basn2c08.png
[[ -f $photo ]] || { echo "no $photo (set PHOTOSHARE_TESTDATA)" >&2; exit 1; }

mc_port=$(free_port)
memcached_url=$(scripts/service start memcached "$work/memcached" "$mc_port")
mc_pid=$(cat "$work/memcached/pid")
redis_port=$(free_port)
redis_url=$(scripts/service start redis "$work/redis" "$redis_port")
redis_pid=$(cat "$work/redis/redis.pid")

configs=(level0 memcached redis)
declare -A port pid cookie backend_pid
for cfg in "${configs[@]}"; do
  port[$cfg]=$(free_port)
  extra=()
  case $cfg in
    memcached) extra=(--set "cache.url=$memcached_url" --set "sessions.url=$memcached_url"); backend_pid[$cfg]=$mc_pid ;;
    redis) extra=(--set "cache.url=$redis_url" --set "sessions.url=$redis_url"); backend_pid[$cfg]=$redis_pid ;;
    *) backend_pid[$cfg]='' ;;
  esac
  start_photoshare "$work/$cfg" "${port[$cfg]}" --set log.level=warn "${extra[@]}"
  pid[$cfg]=$server_pid
  base=http://127.0.0.1:${port[$cfg]}
  token=$(login "$base" "$work/$cfg.jar")
  for _ in 1 2 3; do
    curl -sf -o /dev/null -b "$work/$cfg.jar" -H "X-CSRF-Token: $token" -F "photo=@$photo;type=image/png" "$base/api/v1/photos"
  done
  cookie[$cfg]="ps_session=$(session_cookie "$work/$cfg.jar")"
  # The page a member gets must be a member's page, or the comparison means nothing.
  curl -sf -H "Cookie: ${cookie[$cfg]}" "$base/" | grep -q 'action="/logout"' || { echo "$cfg: the cookie does not log in" >&2; exit 1; }
done

csv=$work/level4.csv
echo "config,kind,run,rps,p50_ms,p99_ms,requests,errors,cpu_us,backend_cpu_us" >"$csv"
point() {  # CFG KIND RUN
  local cfg=$1 kind=$2 run=$3 url=http://127.0.0.1:${port[$1]}/ out=$work/$1-$2-$3.wrk
  local headers=() before after bbefore bafter rps p50 p99 requests errors
  [[ $kind == member ]] && headers=(-H "Cookie: ${cookie[$cfg]}")
  wrk -t2 -c"$connections" -d1s "${headers[@]}" "$url" >/dev/null 2>&1 || true  # warm
  before=$(cpu_ticks "${pid[$cfg]}")
  bbefore=$( [[ -n ${backend_pid[$cfg]} ]] && cpu_ticks "${backend_pid[$cfg]}" || echo 0)
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "${headers[@]}" "$url" >"$out" 2>&1 || true
  after=$(cpu_ticks "${pid[$cfg]}")
  bafter=$( [[ -n ${backend_pid[$cfg]} ]] && cpu_ticks "${backend_pid[$cfg]}" || echo 0)
  read -r rps p50 p99 requests errors < <(parse_wrk "$out")
  awk -v c="$cfg" -v k="$kind" -v r="$run" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v n="$requests" -v e="$errors" \
    -v t=$((after - before)) -v bt=$((bafter - bbefore)) -v hz="$clk_tck" \
    'BEGIN{cpu = n > 0 ? t / hz * 1e6 / n : "nan"; bcpu = n > 0 ? bt / hz * 1e6 / n : "nan";
           printf "%s,%s,%s,%s,%s,%s,%s,%s,%.1f,%.1f\n", c, k, r, rps, p50, p99, n, e, cpu, bcpu}' >>"$csv"
  log "$cfg $kind run $run: $rps req/s, p99 $p99 ms"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for run in $(seq 1 "$repeats"); do
  for kind in anonymous member; do
    for i in 0 1 2; do point "${configs[$(((i + run) % 3))]}" "$kind" "$run"; done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------
# The table, from the CSV
values() { awk -F, -v c="$1" -v k="$2" -v col="$3" 'NR > 1 && $1 == c && $2 == k {print $col}' "$csv"; }
# Each repeat's req/s of CFG over level 0's, one a line
ratios() {
  awk -F, -v c="$1" -v k="$2" 'NR > 1 && $2 == k && $1 == "level0" {base[$3] = $4} NR > 1 && $2 == k && $1 == c {v[$3] = $4}
    END {for (r in v) if (base[r] > 0) printf "%.3f\n", v[r] / base[r]}' "$csv"
}
section=$work/section.md
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores, one photoshare server at a time with wrk on the same machine;"
  echo "photoshare from commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(memcached -V), $(redis-server --version | awk '{print $1, $2, $3}')."
  echo "Command: \`bench/level4.sh ${args[*]}\` ($repeats runs a point, the configurations alternating;"
  echo "\`wrk -t2 -c$connections -d${seconds}s --latency\`). Load average $load_before before, $load_after after."
  [[ -n $note ]] && { echo; echo "$note"; }
  echo
  echo "| GET / | configuration | req/s [spread] | vs level 0 [spread] | p50 / p99 ms | photoshare CPU µs/req | cache server CPU µs/req |"
  echo "|---|---|---|---|---|---|---|"
  for kind in anonymous member; do
    for cfg in "${configs[@]}"; do
      rps=$(values "$cfg" "$kind" 4 | median)
      label=$cfg; [[ $cfg == level0 ]] && label="level 0"; [[ $cfg != level0 ]] && label="level 4, $cfg"
      bcpu='—'; [[ $cfg != level0 ]] && bcpu=$(fmt "$(values "$cfg" "$kind" 10 | median)" 1)
      vs='1.00×'; [[ $cfg != level0 ]] && vs="**$(fmt "$(ratios "$cfg" "$kind" | median)" 2)×** [$(ratios "$cfg" "$kind" | spread)]"
      echo "| $([[ $kind == member ]] && echo 'logged in' || echo 'logged out') | $label | $(rate "$rps") [$(rate_spread "$(values "$cfg" "$kind" 4 | spread)")] |" \
        "$vs | $(fmt "$(values "$cfg" "$kind" 5 | median)" 2) / $(fmt "$(values "$cfg" "$kind" 6 | median)" 2) |" \
        "$(fmt "$(values "$cfg" "$kind" 9 | median)" 1) | $bcpu |"
    done
  done
} >"$section"
cat "$section"
if [[ -f $doc ]]; then
  replace_section "$doc" level4 "$section"
  log "rewrote the level4 section of $doc"
fi
