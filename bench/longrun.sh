#!/usr/bin/env bash
# The long run: a bounded mixed load (anonymous and logged-in views, logins and logouts,
# uploads) for 10 minutes through HAProxy against three photoshare servers (scripts/stack:
# PostgreSQL, memcached), sampling each server's resident set and open file descriptors every
# 10 s and every request's status and latency (bench/longrun_load.cpp). Fails when an error
# response appears, or when RSS or descriptors grow after the warm-up beyond the tolerance
# (see longrun_load.cpp). Rewrites its section of docs/RELIABILITY.md and the chart in
# docs/images/.
#
#   bench/longrun.sh [--minutes 10] [--warmup 120] [--build DIR] [--no-doc] [--keep]
#   bench/longrun.sh --sanitize [--minutes 3]    the same with an ASan/UBSan build (DIR
#                                                build-asan, configured with
#                                                -DPHOTOSHARE_SANITIZE=ON); reports what the
#                                                sanitizers print; RSS is not judged (ASan
#                                                keeps freed memory in quarantine)
#
# Rates (requests per second): VIEWS (60), LOGINS (1, each followed by a logout), UPLOADS (1)
# from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

minutes=10 warmup="" build="" sanitize=0 write_doc=1 keep=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --sanitize) sanitize=1; shift ;;
    --no-doc) write_doc=0; shift ;;
    --keep) keep=1; shift ;;
    *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
if ((sanitize)); then
  build=${build:-build-asan}
  [[ -n $warmup ]] || warmup=60
else
  build=${build:-build}
  [[ -n $warmup ]] || warmup=120
fi
seconds=$((minutes * 60))
((seconds >= warmup + 120)) || { echo "longrun: the run must last at least 2 minutes past the warm-up" >&2; exit 2; }

echo "==> building $build (photoshare, longrun_load)"
if [[ ! -f $build/build.ninja && ! -f $build/Makefile ]]; then
  flags=()
  ((sanitize)) && flags+=(-DPHOTOSHARE_SANITIZE=ON)
  cmake -S . -B "$build" -G Ninja ${flags[@]+"${flags[@]}"} >/dev/null
fi
cmake --build "$build" --target photoshare longrun_load >/dev/null
binary=$root/$build/photoshare
[[ $build == /* ]] && binary=$build/photoshare
load=$(dirname "$binary")/bench/longrun_load

work=$(mktemp -d "${TMPDIR:-/tmp}/ps-longrun-XXXXXX")
chmod 755 "$work"  # PostgreSQL runs as its own user when we are root
stack_dir=$work/stack
out=$work/out
mkdir -p "$out"
port=$((20000 + (RANDOM % 500) * 20))
cleanup() {
  [[ -d $stack_dir ]] && scripts/stack down --dir "$stack_dir" >/dev/null 2>&1 || true
  if ((keep)); then echo "longrun: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

if ((sanitize)); then
  # Every server writes what the sanitizers find to its log (stderr); leaks are reported when
  # it exits (scripts/stack down: SIGTERM, a clean shutdown).
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=0:quarantine_size_mb=64:malloc_context_size=20
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0
fi

echo "==> stack: 3 servers, PostgreSQL, memcached, HAProxy on port $port ($stack_dir)"
stack_options=()
# ASan and UBSan make every process 2-3 times slower, memcached's clients included: a cache
# request gets 500 ms instead of the default 100 ms, so a slow answer is not taken for a dead
# server (a logged-in view would get 503 sessions_unavailable).
((sanitize)) && stack_options+=(--kv-query timeout_ms=500)
scripts/stack up --dir "$stack_dir" --port "$port" --servers 3 --db postgres --cache memcached --binary "$binary" \
  ${stack_options[@]+"${stack_options[@]}"} >"$work/stack-up.log" 2>&1 ||
  { cat "$work/stack-up.log" >&2; exit 1; }
pids=""
for n in 1 2 3; do pids+="${pids:+,}web-$n=$(cat "$stack_dir/web-$n.pid")"; done
url=$(scripts/stack url --dir "$stack_dir")

echo "==> load for $minutes min (warm-up ${warmup}s): ${VIEWS:-60} views/s, ${LOGINS:-1} logins/s, ${UPLOADS:-1} uploads/s"
started=$(date -u +%Y-%m-%dT%H:%MZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$load" run --url "$url" --seconds "$seconds" --warmup "$warmup" --pids "$pids" --out "$out" \
  --views-per-second "${VIEWS:-60}" --logins-per-second "${LOGINS:-1}" --uploads-per-second "${UPLOADS:-1}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
alive=0
for n in 1 2 3; do
  pid=$(cat "$stack_dir/web-$n.pid")
  [[ -d /proc/$pid ]] && alive=$((alive + 1))
done

scripts/stack down --dir "$stack_dir" >/dev/null 2>&1 || true
# What the sanitizers printed, from every server's log (after the exit: leaks come last).
sanitizer_report=$out/sanitizers.txt
: >"$sanitizer_report"
for n in 1 2 3; do
  grep -n -A 30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' \
    "$stack_dir/web-$n.log" >>"$sanitizer_report" 2>/dev/null || true
done
sanitizer_findings=$(grep -c -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$sanitizer_report" || true)

name=longrun
title="Long run: 3 servers, $minutes min"
report_args=()
if ((sanitize)); then
  name=longrun-asan
  title="Long run under ASan/UBSan: 3 servers, $minutes min"
  report_args+=(--rss-tolerance-percent 100000)
fi
chart=docs/images/$name.svg
mkdir -p docs/images
verdict=0
"$load" report --out "$out" --warmup "$warmup" --title "$title" --svg "$out/$name.svg" --svg-href "images/$name.svg" \
  ${report_args[@]+"${report_args[@]}"} >/dev/null || verdict=1
((alive == 3)) || { echo "longrun: only $alive of 3 servers were alive at the end" >&2; verdict=1; }
if ((sanitize && sanitizer_findings > 0)); then
  echo "longrun: the sanitizers reported $sanitizer_findings finding(s):" >&2
  head -n 80 "$sanitizer_report" >&2
  verdict=1
fi
cat "$out/report.md"
if [[ -s $out/errors.txt ]]; then
  echo "first error responses:"
  head -n 20 "$out/errors.txt"
fi

if ((write_doc)); then
  cp "$out/$name.svg" "$chart"
  section=$work/section.md
  {
    echo "<!-- $name:begin (written by bench/longrun.sh$( ((sanitize)) && echo " --sanitize")) -->"
    echo "Run on $started: $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))," \
      "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM; everything (load generator, HAProxy," \
      "PostgreSQL, memcached, three servers) on this one machine; load average $load_before before the run," \
      "$load_after at its end (anything else the machine was doing shows there)."
    echo
    echo "Command: \`bench/longrun.sh$( ((sanitize)) && echo " --sanitize") --minutes $minutes --warmup $warmup\`" \
      "($( ((sanitize)) && echo "servers built with -DPHOTOSHARE_SANITIZE=ON, ASAN_OPTIONS=$ASAN_OPTIONS, cache requests' timeout 500 ms instead of 100 ms; " )load:" \
      "${VIEWS:-60} views/s (¾ anonymous: front page, feed API, photo pages, thumbnails, display sizes; ¼ logged in)," \
      "${LOGINS:-1} login/s each followed by a logout, ${UPLOADS:-1} upload/s of a 1200×900 JPEG)."
    echo
    cat "$out/report.md"
    if ((sanitize)); then
      echo
      if ((sanitizer_findings == 0)); then
        echo "Sanitizers: nothing reported by ASan, LeakSanitizer (at each server's exit) or UBSan in the three servers' logs."
      else
        echo "Sanitizers: $sanitizer_findings finding(s); the first lines:"
        echo
        echo '```'
        head -n 60 "$sanitizer_report"
        echo '```'
      fi
      echo
      echo "RSS under ASan is not judged: freed memory waits in ASan's quarantine (here up to 64 MiB per process) before it is reused."
    fi
    echo "<!-- $name:end -->"
  } >"$section"
  doc=docs/RELIABILITY.md
  if [[ -f $doc ]] && grep -q "<!-- $name:begin" "$doc"; then
    awk -v name="$name" -v file="$section" '
      index($0, "<!-- " name ":begin") == 1 { while ((getline line < file) > 0) print line; skip = 1; next }
      index($0, "<!-- " name ":end") == 1 { skip = 0; next }
      !skip { print }' "$doc" >"$doc.new"
    mv "$doc.new" "$doc"
    echo "==> wrote the $name section of $doc and $chart"
  else
    echo "==> $doc has no <!-- $name:begin --> marker; the section is in $section:" >&2
    cat "$section"
  fi
fi
exit "$verdict"
