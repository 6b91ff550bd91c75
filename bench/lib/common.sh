# Helpers for bench/run (sourced, not run): statistics, wrk output, CPU and memory of a
# process from /proc, starting and seeding photoshare, nginx, and rewriting a section of
# docs/PERFORMANCE.md between its markers.
# shellcheck shell=bash

# ---------------------------------------------------------------------------------------
# Statistics over one number a line on stdin

median() { sort -g | awk '{a[NR]=$1} END{if (NR==0) {print "nan"; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END{if (NR==0) print "nan"; else print lo "–" hi}'; }
# ratio A B [DIGITS]: A/B, "—" when either is missing or B is 0
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN{if (a=="" || b=="" || a=="nan" || b=="nan" || b+0==0) print "—"; else printf "%.*f\n", d, a/b}'; }
# fmt NUMBER DIGITS
fmt() { awk -v v="$1" -v d="$2" 'BEGIN{if (v=="" || v=="nan") print "—"; else printf "%.*f\n", d, v}'; }
# Thousands separated with a thin space, rounded: 104501.5 -> 104 502
num() { awk -v v="$1" 'BEGIN{if (v=="" || v=="nan") {print "—"; exit} v=sprintf("%.0f", v); s=""; while (length(v) > 3) {s=" " substr(v, length(v)-2) s; v=substr(v, 1, length(v)-3)} print v s}'; }
# Req/s as shown: thousands separated under 1000 req/s with one decimal
rate() { awk -v v="$1" 'BEGIN{if (v=="" || v=="nan") {print "—"; exit} if (v < 100) printf "%.1f\n", v; else {v=sprintf("%.0f", v); s=""; while (length(v) > 3) {s=" " substr(v, length(v)-2) s; v=substr(v, 1, length(v)-3)} print v s}}'; }
# The same, for a spread "lo–hi"
rate_spread() { local lo=${1%%–*} hi=${1##*–}; echo "$(rate "$lo")–$(rate "$hi")"; }

# column FILE FILTER_AWK COLUMN: values of COLUMN (1-based) on the lines matching FILTER
column_of() { awk "$2 {print \$$3}" "$1"; }

# ---------------------------------------------------------------------------------------
# Ports, processes, /proc

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    port_free "$p" && port_free $((p + 1)) && { echo "$p"; return; }
  done
  echo "no free port found" >&2
  return 1
}

# CPU time (user + system, clock ticks) of the given processes, all their threads.
cpu_ticks() {
  local total=0 p t
  for p in "$@"; do
    t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
clk_tck=$(getconf CLK_TCK)
# kB of a /proc/PID/status field (VmRSS, VmHWM), summed over the given processes
status_kb() {
  local field=$1 total=0 p v
  shift
  for p in "$@"; do
    v=$(awk -v f="$field:" '$1==f{print $2}' "/proc/$p/status" 2>/dev/null) || v=0
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
# Writing 5 to clear_refs resets VmHWM to the current RSS: a peak per phase.
reset_hwm() { local p; for p in "$@"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done; }

# rss_sampler_start FILE PID...: VmRSS (kB, summed) every 0.25 s into FILE; pid in $sampler_pid
rss_sampler_start() {
  local file=$1
  shift
  (
    while :; do
      status_kb VmRSS "$@" >>"$file"
      sleep 0.25
    done
  ) &
  sampler_pid=$!
}
rss_sampler_stop() { kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; }

mb() { awk -v k="$1" 'BEGIN{if (k=="" || k=="nan") print "—"; else printf "%.1f\n", k/1024}'; }

# ---------------------------------------------------------------------------------------
# wrk

# wrk_threads C: wrk needs at least one connection per thread
wrk_threads() { if (($1 < 2)); then echo 1; else echo 2; fi; }

# parse_wrk FILE -> "rps p50_ms p99_ms requests errors"
parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /m$/)  { sub(/m$/, "", v); return v * 60000 }
      if (v ~ /s$/)  { sub(/s$/, "", v); return v * 1000 }
      return v
    }
    /^Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    / requests in / { req = $1 }
    /Non-2xx or 3xx/ { err += $NF }
    /Socket errors/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    END { if (rps == "") print "nan nan nan 0 " err + 0; else printf "%s %.3f %.3f %s %d\n", rps, p50, p99, req, err }' "$1"
}

# ---------------------------------------------------------------------------------------
# photoshare

# make_work NAME: a fresh directory in $work, and an EXIT trap that stops every process in
# started_pids (start_photoshare adds to it), runs at_cleanup if the script defines one
# (services to stop, results to keep), and removes the directory.
make_work() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/photoshare-$1.XXXXXX")
  started_pids=()
  trap clean_work EXIT
}
clean_work() {
  local p
  for p in "${started_pids[@]}"; do stop_pid "$p"; done
  if declare -F at_cleanup >/dev/null; then at_cleanup; fi
  rm -rf "$work"
}

# start_photoshare DATA_DIR PORT [serve options...] -> $server_pid
start_photoshare() {
  local data=$1 port=$2
  shift 2
  mkdir -p "$data"
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" "$@" >"$data.log" 2>&1 &
  server_pid=$!
  started_pids+=("$server_pid")
  for _ in $(seq 150); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "photoshare did not start:" >&2
  tail -20 "$data.log" >&2
  return 1
}
stop_pid() {
  local p=$1
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

# login BASE JAR -> prints the CSRF token (registers the user first; "already taken" is fine)
bench_user=bench
bench_password=bench-password-1
login() {
  local base=$1 jar=$2
  curl -s -o /dev/null -X POST "$base/api/v1/users" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$bench_user\",\"password\":\"$bench_password\"}"
  curl -sf -c "$jar" -X POST "$base/api/v1/session" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$bench_user\",\"password\":\"$bench_password\"}" | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/'
}
session_cookie() { awk '$6=="ps_session"{print $7}' "$1"; }

# metric BASE NAME_WITH_LABELS: one value from /metrics (0 when absent)
metric() {
  curl -sf "$1/metrics" | awk -v m="$2" 'index($0, m " ")==1 {print $2; found=1} END{if (!found) print 0}'
}

# ---------------------------------------------------------------------------------------
# nginx serving a directory

# start_nginx WWW_DIR PORT WORK_DIR -> $nginx_master, $nginx_pids (master and workers)
start_nginx() {
  local www=$1 port=$2 dir=$3
  cat >"$dir/nginx.conf" <<EOF
worker_processes $(nproc);
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 8192; }
http {
  access_log $dir/nginx-access.log combined buffer=256k flush=1s;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000000;
  types { text/html html; image/jpeg jpg; }
  server { listen 127.0.0.1:$port; root $www; }
}
EOF
  nginx -c "$dir/nginx.conf" -p "$dir"
  for _ in $(seq 50); do [[ -s $dir/nginx.pid ]] && break; sleep 0.1; done
  nginx_master=$(cat "$dir/nginx.pid")
  sleep 0.3
  # shellcheck disable=SC2207
  nginx_pids=("$nginx_master" $(pgrep -P "$nginx_master"))
}

# ---------------------------------------------------------------------------------------
# Two builds side by side (bench/compare_builds.sh, bench/session_lookups.sh)

# two_builds_options USAGE_LINES "$@": --baseline DIR [--build DIR] [--repeats N] [--seconds S]
# into $baseline, $build, $repeats, $seconds; prints lines USAGE_LINES of $0 and exits 2 on
# anything else.
two_builds_options() {
  local usage=$1
  shift
  build=$root/build baseline='' repeats=5 seconds=6
  while [[ $# -gt 0 ]]; do
    case $1 in
      --baseline) baseline=$(realpath "$2"); shift 2 ;;
      --build) build=$(realpath "$2"); shift 2 ;;
      --repeats) repeats=$2; shift 2 ;;
      --seconds) seconds=$2; shift 2 ;;
      *) sed -n "${usage}p" "$0" >&2; exit 2 ;;
    esac
  done
  [[ -n $baseline ]] || { sed -n "${usage}p" "$0" >&2; exit 2; }
}

# start_two_builds WORK [serve options...]: the binaries of $build ("this") and $baseline
# ("baseline") copied under WORK and each started on a port of its own with a logged-in
# member, into the associative arrays port, pid and cookie (declare -A them first).
start_two_builds() {
  local work=$1 which src
  shift
  for which in this baseline; do
    mkdir -p "$work/bin-$which"
    src=$build; [[ $which == baseline ]] && src=$baseline
    cp "$src/photoshare" "$src/libphotoshare-image.so" "$work/bin-$which/"
    bin=$work/bin-$which/photoshare
    port[$which]=$(free_port)
    start_photoshare "$work/$which" "${port[$which]}" "$@"
    pid[$which]=$server_pid
    login "http://127.0.0.1:${port[$which]}" "$work/$which.jar" >/dev/null
    cookie[$which]="ps_session=$(session_cookie "$work/$which.jar")"
  done
}

# cpu_per_request PID OUT SECONDS [wrk options...] URL: a 1 s warm-up, then SECONDS of
# wrk -t2 -c64; prints "rps p99_ms cpu_us_per_request" (the server's own CPU, from /proc).
cpu_per_request() {
  local pid=$1 out=$2 secs=$3 before after rps p99 requests
  shift 3
  wrk -t2 -c64 -d1s "$@" >/dev/null 2>&1
  before=$(cpu_ticks "$pid")
  wrk -t2 -c64 -d"${secs}s" --latency "$@" >"$out" 2>&1
  after=$(cpu_ticks "$pid")
  read -r rps _ p99 requests _ < <(parse_wrk "$out")
  awk -v rps="$rps" -v p99="$p99" -v n="$requests" -v t=$((after - before)) -v hz="$clk_tck" \
    'BEGIN{printf "%s %s %.1f\n", rps, p99, t / hz * 1e6 / n}'
}

# ---------------------------------------------------------------------------------------
# docs/PERFORMANCE.md

# replace_section DOC NAME FILE: the lines between "<!-- NAME:begin" and "<!-- NAME:end -->"
# (markers kept) become FILE's; a section with no markers yet is appended at the end.
replace_section() {
  local doc=$1 name=$2 file=$3
  if grep -q "<!-- $name:begin" "$doc"; then
    awk -v name="$name" -v file="$file" '
      index($0, "<!-- " name ":begin") == 1 { print; while ((getline line < file) > 0) print line; skip = 1; next }
      index($0, "<!-- " name ":end -->") == 1 { skip = 0 }
      !skip' "$doc" >"$doc.new"
    mv "$doc.new" "$doc"
  else
    { printf '\n<!-- %s:begin (written by bench/run) -->\n' "$name"; cat "$file"; printf '<!-- %s:end -->\n' "$name"; } >>"$doc"
  fi
}
