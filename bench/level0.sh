#!/usr/bin/env bash
# Level-0 benchmark: photoshare on its embedded defaults against nginx serving the same
# bytes as static files, measured in the same run on the same machine.
#
#   bench/level0.sh [BUILD_DIR]        (default: build)
#
# Measures (each wrk figure is the median of RUNS alternating runs, photoshare and nginx
# taking turns so that drift in the machine hits both):
#   - GET / logged out, warm feed cache, wrk -t2 -c128: req/s, p50, p99 vs nginx
#   - GET of a thumbnail: req/s, p99 vs nginx
#   - the upload pipeline for a 12 MP JPEG vs vipsthumbnail making the same two variants
#   - idle RSS, and peak RSS under 32 concurrent uploads of a ~10 MB JPEG
# and rewrites the "Level 0" section of docs/PERFORMANCE.md with the results.
# Needs: nginx, wrk, curl, vips (libvips-tools); it installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build}
bin=$root/$build/photoshare
runs=${RUNS:-3}
duration=${DURATION:-10s}
for tool in nginx wrk curl vips; do
  command -v $tool >/dev/null || { echo "needs $tool (apt-get install nginx wrk curl libvips-tools)" >&2; exit 1; }
done
[[ -x $bin ]] || { echo "no $bin: run scripts/setup first" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $((20000 + RANDOM % 20000)); }

start_server() {  # DATA_DIR PORT -> pid in $server_pid
  "$bin" serve --listen "127.0.0.1:$2" --data-dir "$1" >"$1.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$1.log" >&2; exit 1
}
rss_kb() { awk "/^$2:/{print \$2}" "/proc/$1/status"; }

median() { sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END{print lo "–" hi}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000} printf "%.2f\n", v}'; }

# wrk URL -> "rps p50ms p99ms"
wrk_once() {
  local out
  out=$(wrk -t2 -c128 -d"$duration" --latency "$1")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out" | to_ms)
  p99=$(awk '$1=="99%"{print $2}' <<<"$out" | to_ms)
  local errors
  errors=$(awk '/Non-2xx|Socket errors/{print}' <<<"$out")
  [[ -z $errors ]] || echo "warning: $1: $errors" >&2
  echo "$rps $p50 $p99"
}

echo "==> idle RSS"
port=$(free_port)
start_server "$work/idle" "$port"
sleep 2
idle_rss=$(rss_kb "$server_pid" VmRSS)
kill -TERM "$server_pid"; wait "$server_pid" || true

echo "==> seeding a site with 10 photos"
port=$(free_port)
start_server "$work/site" "$port"
base=http://127.0.0.1:$port
curl -sf -o /dev/null -X POST "$base/api/v1/users" -H 'Content-Type: application/json' -d '{"username":"bench","password":"bench-password"}'
token=$(curl -sf -c "$work/jar" -X POST "$base/api/v1/session" -H 'Content-Type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/')
testdata=${PHOTOSHARE_TESTDATA:-$root/../shared/testdata}
[[ -d $testdata ]] || testdata=/work/shared/testdata
photo=$testdata/images/edge/exif-samples/DSCN0010.jpg
for _ in $(seq 10); do
  curl -sf -o "$work/upload.json" -b "$work/jar" -H "X-CSRF-Token: $token" -F "photo=@$photo" "$base/api/v1/photos"
done
thumb_url=$(sed 's/.*"thumbnail_url":"\([^"]*\)".*/\1/' "$work/upload.json")
curl -sf "$base/" >/dev/null  # warm the feed cache
mkdir -p "$work/www"
curl -sf "$base/" -o "$work/www/index.html"
curl -sf "$base$thumb_url" -o "$work/www/thumb.jpg"
page_bytes=$(stat -c %s "$work/www/index.html")
thumb_bytes=$(stat -c %s "$work/www/thumb.jpg")

echo "==> nginx on the same files"
nginx_port=$(free_port)
cat >"$work/nginx.conf" <<EOF
worker_processes $(nproc);
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 8192; }
http {
  access_log $work/nginx-access.log combined buffer=256k flush=1s;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000000;
  types { text/html html; image/jpeg jpg; }
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
EOF
nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5

declare -A res
for case in page thumb; do
  if [[ $case == page ]]; then ps_url="$base/"; ngx_url="http://127.0.0.1:$nginx_port/index.html"
  else ps_url="$base$thumb_url"; ngx_url="http://127.0.0.1:$nginx_port/thumb.jpg"; fi
  : >"$work/$case.ps"; : >"$work/$case.ngx"
  for r in $(seq "$runs"); do
    echo "    $case run $r/$runs"
    wrk_once "$ngx_url" >>"$work/$case.ngx"
    wrk_once "$ps_url" >>"$work/$case.ps"
  done
  for who in ps ngx; do
    res[$case.$who.rps]=$(awk '{print $1}' "$work/$case.$who" | median)
    res[$case.$who.rps_spread]=$(awk '{print $1}' "$work/$case.$who" | spread)
    res[$case.$who.p50]=$(awk '{print $2}' "$work/$case.$who" | median)
    res[$case.$who.p99]=$(awk '{print $3}' "$work/$case.$who" | median)
  done
  res[$case.ratio]=$(awk -v a="${res[$case.ps.rps]}" -v b="${res[$case.ngx.rps]}" 'BEGIN{printf "%.2f", a/b}')
done
kill -TERM "$server_pid"; wait "$server_pid" || true

echo "==> upload pipeline vs vipsthumbnail"
pipeline=$("$root/$build/bench/image_pipeline" --runs 11 2>&1 | tee "$work/pipeline.txt")
ps_ms=$(sed -n 's/^process_file.*median \([0-9.]*\) ms wall.*/\1/p' <<<"$pipeline")
vt_ms=$(sed -n 's/^vipsthumbnail.*median \([0-9.]*\) ms wall.*/\1/p' <<<"$pipeline")
pipe_ratio=$(sed -n 's/^ratio.*: \([0-9.]*\) wall.*/\1/p' <<<"$pipeline")

echo "==> peak RSS under 32 concurrent ~10 MB uploads"
vips gaussnoise "$work/n1.v" 4000 3000 --sigma 64 --mean 128
vips gaussnoise "$work/n2.v" 4000 3000 --sigma 64 --mean 128
vips gaussnoise "$work/n3.v" 4000 3000 --sigma 64 --mean 128
vips bandjoin "$work/n1.v $work/n2.v $work/n3.v" "$work/n.v"
vips cast "$work/n.v" "$work/nu.v" uchar
vips jpegsave "$work/nu.v" "$work/big.jpg" --Q 89
rm -f "$work"/n*.v
big_bytes=$(stat -c %s "$work/big.jpg")
port=$(free_port)
start_server "$work/uploads" "$port"
base=http://127.0.0.1:$port
curl -sf -o /dev/null -X POST "$base/api/v1/users" -H 'Content-Type: application/json' -d '{"username":"bench","password":"bench-password"}'
token=$(curl -sf -c "$work/jar2" -X POST "$base/api/v1/session" -H 'Content-Type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/')
start=$(date +%s.%N)
upids=()
for i in $(seq 32); do
  curl -s -o /dev/null -w '%{http_code}\n' -b "$work/jar2" -H "X-CSRF-Token: $token" -F "photo=@$work/big.jpg" \
    "$base/api/v1/photos" >"$work/up.$i" &
  upids+=($!)
done
for p in "${upids[@]}"; do wait "$p"; done
upload_secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
created=$(cat "$work"/up.* | grep -c '^201$' || true)
peak_rss=$(rss_kb "$server_pid" VmHWM)
kill -TERM "$server_pid"; wait "$server_pid" || true

cpu=$(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//')
today=$(date -u +%Y-%m-%d)
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
section=$(cat <<EOF
<!-- level0:begin (written by bench/level0.sh) -->
Measured $today on $(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r);
photoshare $("$bin" --version 2>/dev/null || echo dev) built RelWithDebInfo with $(sed -n 's/^set(CMAKE_CXX_COMPILER "\(.*\)")/\1/p' "$root/$build"/CMakeFiles/*/CMakeCXXCompiler.cmake | xargs basename);
nginx $(nginx -v 2>&1 | sed 's/.*\///') with $(nproc) workers, sendfile, buffered access log; load from wrk on the same
machine (\`wrk -t2 -c128 -d$duration --latency\`), median of $runs alternating runs (spread in brackets).
Command: \`bench/level0.sh\`.

| case | photoshare | nginx (same bytes, static) | ratio | target |
|---|---|---|---|---|
| GET / logged out, warm ($page_bytes B) | ${res[page.ps.rps]} req/s [${res[page.ps.rps_spread]}], p50 ${res[page.ps.p50]} ms, p99 ${res[page.ps.p99]} ms | ${res[page.ngx.rps]} req/s [${res[page.ngx.rps_spread]}], p50 ${res[page.ngx.p50]} ms, p99 ${res[page.ngx.p99]} ms | **${res[page.ratio]}×** | ≥ 0.6×, p99 ≤ 10 ms |
| GET thumbnail ($thumb_bytes B) | ${res[thumb.ps.rps]} req/s [${res[thumb.ps.rps_spread]}], p99 ${res[thumb.ps.p99]} ms | ${res[thumb.ngx.rps]} req/s [${res[thumb.ngx.rps_spread]}], p99 ${res[thumb.ngx.p99]} ms | **${res[thumb.ratio]}×** | ≥ 0.5× |

| case | photoshare | reference | ratio | target |
|---|---|---|---|---|
| 12 MP JPEG (4000×3000): validate + display + thumbnail | ${ps_ms} ms (\`image::process_file\`, median of 11) | ${vt_ms} ms (\`vipsthumbnail\` -s 2048 and -s 480, Q=82, strip) | **${pipe_ratio}×** | ≤ 1.3× |
| idle RSS (fresh server, no requests) | $(mb "$idle_rss") MB | — | — | ≤ 30 MB |
| peak RSS, 32 concurrent uploads of a $(awk -v b="$big_bytes" 'BEGIN{printf "%.1f", b/1048576}') MiB 12 MP JPEG | $(mb "$peak_rss") MB ($created of 32 stored, ${upload_secs} s) | — | — | ≤ 400 MB |
<!-- level0:end -->
EOF
)
doc=$root/docs/PERFORMANCE.md
if grep -q '<!-- level0:begin' "$doc" 2>/dev/null; then
  awk -v section="$section" '/<!-- level0:begin/{print section; skip=1} /<!-- level0:end -->/{skip=0; next} !skip' "$doc" >"$doc.new"
  mv "$doc.new" "$doc"
else
  printf '\n%s\n' "$section" >>"$doc"
fi
echo "$section"
