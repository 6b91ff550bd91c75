#!/usr/bin/env bash
# Knee curves: the offered rate of GET / (logged out) stepped up, open loop (bench/openloop,
# latency timed from when each request was due), until p99 passes a bound or errors or
# timeouts appear, for
#   level0     one `photoshare serve` on its embedded defaults, 3 photos uploaded first
#   memcached  level 4: 3 servers behind HAProxy, PostgreSQL, the feed cache and sessions
#              on memcached (scripts/stack up --level 4 --servers 3 --cache memcached)
#   redis      the same with Redis (--cache redis)
#   nginx      nginx serving the very bytes of level 0's page as a static file
# All four are up at once and take turns at each rate, in an order that rotates from one
# rate to the next (points of one rate are close in time: this machine is shared). A step
# over the bound is run once more, and the second run is the one recorded (a burst of other
# work should not end a curve); a curve ends at the first step over the bound twice, which is
# kept in the CSV.
#
#   bench/knee.sh [--bound MS] [--seconds S] [--rates "R1 R2 ..."] [--targets "T ..."]
#                 [--connections C] [--build DIR] [--commit REV] [--data DIR] [--doc FILE]
#                 [--note TEXT]
#   bench/knee.sh --render-only [--data DIR] [--doc FILE]
#
#   --bound MS       the p99 bound (default 10)
#   --seconds S      length of each step (default 5)
#   --rates "..."    offered rates in req/s, in order (default 500 to 80000)
#   --targets "..."  some of: level0 memcached redis nginx (default all four)
#   --connections C  openloop's keep-alive connections (default 32; a request due while all
#                    are busy waits for one, and the wait is part of its latency)
#   --commit REV     the commit --build was made from, for the doc (default: this tree's HEAD,
#                    said to have uncommitted changes when src/ has)
#   --data DIR       where knee.csv, knee-summary.csv and knee-conditions.txt go (default
#                    docs/data)
#   --render-only    measure nothing: draw docs/images/knee.svg and rewrite the knee sections
#                    of the doc from the files in --data
# Writes DIR/knee.csv (one row a step: target, offered_rate, achieved_rate, p50, p90, p99,
# p999, max (ms), errors, timeouts, send_lag_p99 (ms), busy_pct (CPU of every process over the
# step, as a share of the machine), others_pct (of it, processes not of this benchmark),
# attempts), DIR/knee-summary.csv, then through build/bench/render the chart
# docs/images/knee.svg and the sections between <!-- knee:begin --> / <!-- knee:end --> and
# <!-- knee-summary:begin --> / <!-- knee-summary:end --> of docs/PERFORMANCE.md.
# Needs curl, nginx, haproxy, PostgreSQL, memcached, redis-server (what scripts/stack needs);
# installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/lib/common.sh
source "$root/bench/lib/common.sh"

usage() { sed -n '16,32p' "$0" >&2; exit 2; }
bound=10 seconds=5 connections=32 build=build data=$root/docs/data doc=$root/docs/PERFORMANCE.md note='' render_only=0 commit=''
rates="500 1000 2000 3000 4000 5000 6000 8000 10000 12000 15000 20000 25000 30000 40000 50000 60000 80000"
targets="level0 memcached redis nginx"
args=("$@")
while [[ $# -gt 0 ]]; do
  case $1 in
    --bound) bound=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --commit) commit=$2; shift 2 ;;
    --data) data=$(realpath -m "$2"); shift 2 ;;
    --doc) doc=$(realpath -m "$2"); shift 2 ;;
    --note) note=$2; shift 2 ;;
    --render-only) render_only=1; shift ;;
    *) usage ;;
  esac
done
[[ $build == /* ]] || build=$root/$build
render=$build/bench/render
[[ -x $render ]] || { echo "no $render: build first (cmake --build $build --target render)" >&2; exit 1; }
csv=$data/knee.csv summary=$data/knee-summary.csv conditions=$data/knee-conditions.txt
chart=$(dirname "$doc")/images/knee.svg

# The chart and both tables, from the files in $data.
draw() {
  local text=()
  mapfile -t text <"$conditions"
  local targs=()
  for line in "${text[@]}"; do targs+=(--text "$line"); done
  mkdir -p "$(dirname "$chart")"
  "$render" svg --csv "$csv" --x offered_rate --y p99 --series target --out "$chart" --log-y \
    --hline "$(cat "$data/knee-bound.txt"):p99 bound $(cat "$data/knee-bound.txt") ms" --flag errors --flag timeouts \
    --title "GET / logged out: p99 latency against offered rate (open loop)" \
    --subtitle "$(head -1 "$data/knee-subtitle.txt")" \
    --x-label "offered rate (requests a second)" --y-label "p99 latency, ms"
  "$render" table --csv "$summary" --doc "$doc" --section knee-summary "${targs[@]}" \
    --column "target:target" --column "knee_rate:highest rate within the bound (req/s):0" \
    --column "p99_at_knee:p99 there (ms):2" --column "next_rate:next step (req/s):0" --column "next_outcome:what the next step gave"
  "$render" table --csv "$csv" --doc "$doc" --section knee \
    --column target --column "offered_rate:offered req/s:0" --column "achieved_rate:achieved req/s:0" \
    --column "p50:p50 ms:2" --column "p90:p90 ms:2" --column "p99:p99 ms:2" --column "p999:p99.9 ms:2" --column "max:max ms:1" \
    --column errors --column timeouts --column "send_lag_p99:send lag p99 ms:2" --column "busy_pct:CPUs busy %:0" \
    --column "others_pct:of which other work %:0" --column attempts
}
if ((render_only)); then draw; exit 0; fi

for tool in curl nginx haproxy memcached redis-server; do
  command -v "$tool" >/dev/null || { echo "bench/knee.sh needs $tool" >&2; exit 1; }
done
for program in "$build/photoshare" "$build/libphotoshare-image.so" "$build/bench/openloop"; do
  [[ -x $program ]] || { echo "no $program: build first" >&2; exit 1; }
done
testdata=${PHOTOSHARE_TESTDATA:-$root/../shared/testdata}
[[ -d $testdata ]] || testdata=/work/shared/testdata
photo=$testdata/images/pngsuite/basn2c08.png
[[ -f $photo ]] || { echo "no $photo (set PHOTOSHARE_TESTDATA)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/photoshare-knee.XXXXXX")
chmod 755 "$work"  # nginx's workers, PostgreSQL when we are root
# Copies of the programs: a rebuild in the working tree during the run must not mix builds.
mkdir -p "$work/bin"
cp "$build/photoshare" "$build/libphotoshare-image.so" "$build/bench/openloop" "$work/bin/"
bin=$work/bin/photoshare
started_pids=()
nginx_master='' stack_dirs=()
cleanup() {
  local p
  for p in "${started_pids[@]}"; do stop_pid "$p"; done
  if [[ -n $nginx_master ]]; then kill -QUIT "$nginx_master" 2>/dev/null || true; fi
  for d in "${stack_dirs[@]}"; do scripts/stack down --dir "$d" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# cpu_split: "ours others", CPU time (clock ticks) of every process now. Ours: this script
# (with every child it has reaped: curl, openloop), every process whose command line names its
# work directory or whose pid is in a pid file there (the servers, the stack's services, the
# generator), and their children (PostgreSQL's backends). Others: the rest of the machine
# (another session's compiler, with the children it has reaped). From each process's own
# times, which the kernel keeps exact; the machine-wide counters of /proc/stat sample busy
# time at the tick, and missed most of a server's short bursts here (2% busy at 5,000 req/s).
cpu_split() {
  local mine
  mine=$( { grep -lsF "$work" /proc/[0-9]*/cmdline | cut -d/ -f3
            find "$work" -name '*pid' -type f -exec cat {} + 2>/dev/null; } | tr -c '0-9' ' ')
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v mine="$$ $mine" '
    BEGIN { n = split(mine, m, " "); for (i = 1; i <= n; i++) ours_pid[m[i]] = 1 }
    { rest = $0; sub(/.*\) /, "", rest); split(rest, f, " ")
      t = f[12] + f[13] + f[14] + f[15]  # utime stime cutime cstime
      if (($1 in ours_pid) || (f[2] in ours_pid)) ours += t; else others += t }
    END { print ours + 0, others + 0 }'
}
# jnum JSON KEY: the first number of "KEY": in JSON (one line, as openloop prints it)
jnum() { grep -o "\"$2\": [-0-9.eE+]*" <<<"$1" | head -1 | awk '{print $2}'; }
# jobj JSON KEY: the inner text of "KEY": {...} (flat objects only)
jobj() { sed -n "s/.*\"$2\": {\([^}]*\)}.*/\1/p" <<<"$1"; }

# upload_photos BASE JAR: logs in (registering first) and uploads 3 small photos
upload_photos() {
  local base=$1 jar=$2 token
  token=$(login "$base" "$jar")
  for _ in 1 2 3; do
    curl -sf -o /dev/null -b "$jar" -H "X-CSRF-Token: $token" -F "photo=@$photo;type=image/png" "$base/api/v1/photos"
  done
}

mkdir -p "$data"
echo "target,offered_rate,achieved_rate,p50,p90,p99,p999,max,errors,timeouts,send_lag_p99,busy_pct,others_pct,attempts" >"$work/knee.csv"
echo "target,knee_rate,p99_at_knee,next_rate,next_outcome" >"$work/knee-summary.csv"

# step TARGET URL RATE -> appends a CSV row to $row; returns 0 within the bound, 1 over it
step() {
  local target=$1 url=$2 rate=$3 before after out lat p99 errors timeouts t0 t1
  before=$(cpu_split) t0=${EPOCHREALTIME/./}
  # (a failed run would leave a row without numbers, which nothing could draw: stop instead)
  out=$("$work/bin/openloop" --url "$url" --rate "$rate" --duration "$seconds" --connections "$connections" --timeout 2 --json) ||
    { echo "bench/knee.sh: openloop failed against $url (exit status $?)" >&2; exit 1; }
  after=$(cpu_split) t1=${EPOCHREALTIME/./}
  lat=$(jobj "$out" latency_ms)
  p99=$(jnum "$lat" p99)
  errors=$(jnum "$out" errors) timeouts=$(jnum "$out" timeouts)
  row="$target,$(jnum "$out" offered_rate),$(jnum "$out" achieved_rate),$(jnum "$lat" p50),$(jnum "$lat" p90),$p99,$(jnum "$lat" p99.9),$(jnum "$lat" max),$errors,$timeouts,$(jnum "$(jobj "$out" send_lag_ms)" p99),$(
    awk -v a="$before" -v b="$after" -v us=$((t1 - t0)) -v hz="$clk_tck" -v n="$(nproc)" 'BEGIN{split(a, x, " "); split(b, y, " ")
      all = us / 1e6 * hz * n; printf "%.0f,%.0f", 100 * (y[1] - x[1] + y[2] - x[2]) / all, 100 * (y[2] - x[2]) / all}')"
  outcome="p99 $p99 ms, $errors errors, $timeouts timeouts"
  awk -v p="$p99" -v b="$bound" -v e="$errors" -v t="$timeouts" -v n="$(jnum "$out" responses)" \
    'BEGIN{exit !(n > 0 && p + 0 <= b + 0 && e == 0 && t == 0)}'
}

# try TARGET RATE: one step, and once more if it is over the bound; appends the row kept to
# the target's CSV and returns 1 when the step was over the bound twice.
try() {
  local target=$1 rate=$2 attempts=1 url=${url[$1]}
  if ! step "$target" "$url" "$rate"; then
    log "  $target $rate req/s: $outcome; once more"
    attempts=2
    if ! step "$target" "$url" "$rate"; then
      echo "$row,$attempts" >>"$work/rows-$target.csv"
      log "  $target $rate req/s: $outcome: over the bound twice, its curve ends"
      echo "$target,${knee[$target]:-0},${knee_p99[$target]:-nan},$rate,\"$outcome\"" >>"$work/summary-$target.csv"
      return 1
    fi
  fi
  echo "$row,$attempts" >>"$work/rows-$target.csv"
  knee[$target]=$rate knee_p99[$target]=$(cut -d, -f6 <<<"$row")
  log "  $target $rate req/s: $outcome"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$SECONDS
level0_page=$work/www/index.html
mkdir -p "$work/www"
# Every target is started first and stays up, idle when it is not measured: the targets then
# take turns at each rate, in an order that rotates from one rate to the next, so that the
# points of one rate are close in time and share whatever else the machine was doing.
declare -A url knee knee_p99 ended
stack_dirs=()
for target in $targets; do
  case $target in
    level0)
      tport=$(free_port)
      start_photoshare "$work/level0" "$tport"
      upload_photos "http://127.0.0.1:$tport" "$work/level0.jar"
      curl -sf -o /dev/null "http://127.0.0.1:$tport/"  # the feed cache warm
      curl -sf -o "$level0_page" "http://127.0.0.1:$tport/"
      url[$target]=http://127.0.0.1:$tport/
      ;;
    memcached|redis)
      tport=$(free_port)
      stack_dirs+=("$work/stack-$target")
      scripts/stack up --level 4 --servers 3 --db postgres --cache "$target" --dir "$work/stack-$target" --port "$tport" \
        --binary "$bin" >"$work/stack-$target.log" 2>&1 || { cat "$work/stack-$target.log" >&2; exit 1; }
      upload_photos "http://127.0.0.1:$tport" "$work/$target.jar"
      curl -sf -o /dev/null "http://127.0.0.1:$tport/"
      url[$target]=http://127.0.0.1:$tport/
      ;;
    nginx) ;;  # below, once level 0's page is there
    *) echo "unknown target '$target' (level0 memcached redis nginx)" >&2; exit 2 ;;
  esac
done
if [[ " $targets " == *" nginx "* ]]; then
  if [[ ! -s $level0_page ]]; then  # level0 is not among the targets: a server for its page
    tport=$(free_port)
    start_photoshare "$work/page" "$tport"
    upload_photos "http://127.0.0.1:$tport" "$work/page.jar"
    curl -sf -o "$level0_page" "http://127.0.0.1:$tport/"
    stop_pid "$server_pid"
  fi
  tport=$(free_port)
  start_nginx "$work/www" "$tport" "$work"
  url[nginx]=http://127.0.0.1:$tport/index.html
fi
read -r -a order <<<"$targets"
for target in "${order[@]}"; do
  log "$target: ${url[$target]}"
  "$work/bin/openloop" --url "${url[$target]}" --rate 500 --duration 2 --connections "$connections" --json >/dev/null  # warm
done
i=0
for rate in $rates; do
  left=0
  for ((j = 0; j < ${#order[@]}; j++)); do
    target=${order[(i + j) % ${#order[@]}]}
    [[ -n ${ended[$target]:-} ]] && continue
    try "$target" "$rate" || ended[$target]=1
    [[ -n ${ended[$target]:-} ]] || left=1
  done
  ((left)) || break
  i=$((i + 1))
done
for target in "${order[@]}"; do
  [[ -n ${ended[$target]:-} ]] || echo "$target,${knee[$target]},${knee_p99[$target]},,\"within the bound at every rate tried\"" >>"$work/summary-$target.csv"
  cat "$work/rows-$target.csv" >>"$work/knee.csv"
  cat "$work/summary-$target.csv" >>"$work/knee-summary.csv"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$((SECONDS - started))

cp "$work/knee.csv" "$csv"
cp "$work/knee-summary.csv" "$summary"
echo "$bound" >"$data/knee-bound.txt"
if [[ -n $commit ]]; then
  revision=$commit dirty=''
else
  revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git status --porcelain -- src web CMakeLists.txt 2>/dev/null | head -1)
fi
echo "$(date -u +%Y-%m-%d), $(nproc) cores, openloop ${seconds} s a step on the same machine (bench/knee.sh)" >"$data/knee-subtitle.txt"
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores ($(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//'))," \
    "Linux $(uname -r); photoshare from commit $revision${dirty:+ with uncommitted changes in the working tree (src/)};" \
    "$(nginx -v 2>&1 | sed 's/.*\///;s/^/nginx /'), $(haproxy -v | head -1 | awk '{print "HAProxy", $3}'), $(memcached -V)," \
    "$(redis-server --version | awk '{print $1, $3}' | tr -d 'v='), PostgreSQL $(postgres --version | awk '{print $3}')."
  echo "Command: \`bench/knee.sh${args[*]:+ ${args[*]}}\` (${elapsed} s). Each step:" \
    "\`build/bench/openloop --url URL --rate R --duration $seconds --connections $connections --timeout 2 --json\`," \
    "after a 2 s warm-up of each target at 500 req/s; the targets all up at once, taking turns at each rate in a rotating" \
    "order; the bound: p99 ≤ $bound ms with no errors and no timeouts."
  echo "Load average $load_before before, $load_after after. \"CPUs busy\": the CPU time of every process during the step" \
    "as a share of the $(nproc) cores; \"other work\": the share of processes that are not this benchmark's (its servers, its" \
    "generator, the script and what it ran)."
  [[ -n $note ]] && echo "$note"
  echo "Draw the chart and these tables again from the data: \`bench/knee.sh --render-only\`."
} >"$conditions"
draw
log "done in ${elapsed} s: $csv, $chart, $(realpath --relative-to="$root" "$doc")"
