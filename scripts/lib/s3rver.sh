# s3rver (a local S3, npm) for scripts/service (sourced after common.sh, not run).
#
# One s3rver on 127.0.0.1:PORT with its objects in DIR/data, its log and pid file in DIR,
# and a bucket named `photoshare` made at start. It comes from tests/s3rver/node_modules
# (pinned by tests/s3rver/package-lock.json); `npm ci` runs there first when it is missing.
# s3rver accepts the credentials S3RVER/S3RVER and does not verify signatures, so it proves
# the requests' shape, not their signing (the SigV4 test vectors do that).

s3rver_bucket=photoshare
s3rver_home=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/s3rver" && pwd)

# True while PID runs; a zombie (exited, not yet reaped) has stopped.
s3rver_running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# s3rver_stop_pidfile FILE [SECONDS]: SIGTERM, wait, SIGKILL if it lingers.
s3rver_stop_pidfile() {
  local file=$1 seconds=${2:-10} pid i
  [[ -f $file ]] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && s3rver_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds * 20; i++)); do
      s3rver_running "$pid" || break
      sleep 0.05
    done
    s3rver_running "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

# s3rver_install DIR: npm ci in tests/s3rver unless its node_modules is complete. One at a
# time (a lock beside package.json, or in DIR when that directory is not ours to write).
s3rver_install() {
  local dir=$1 lock
  [[ -f $s3rver_home/node_modules/s3rver/bin/s3rver.js && -d $s3rver_home/node_modules/@aws-sdk/client-s3 ]] && return 0
  command -v npm >/dev/null 2>&1 ||
    { echo "service: npm is not installed, and tests/s3rver/node_modules is missing (scripts/setup --tests)" >&2; return 1; }
  if [[ ! -w $s3rver_home ]]; then
    echo "service: tests/s3rver/node_modules is missing and $s3rver_home is not writable by $(id -un):" \
      "run 'npm ci' there as its owner (scripts/setup --tests does)" >&2
    return 1
  fi
  lock=$s3rver_home/.install.lock
  (
    flock -w 300 9 || { echo "service: timed out waiting for another npm ci in $s3rver_home" >&2; exit 1; }
    [[ -f $s3rver_home/node_modules/s3rver/bin/s3rver.js && -d $s3rver_home/node_modules/@aws-sdk/client-s3 ]] && exit 0
    # npm needs a writable cache; an account without a home of its own (nobody) gets one in DIR.
    if [[ -z ${HOME:-} || ! -w ${HOME:-/nonexistent} ]]; then
      export npm_config_cache=$dir/npm-cache
    fi
    cd "$s3rver_home" && npm ci --no-audit --no-fund --loglevel=error >>"$dir/npm.log" 2>&1
  ) 9>"$lock" || { fail_with_log "npm ci in $s3rver_home failed" "$dir/npm.log"; return 1; }
}

# s3rver_answers PORT: true once s3rver serves the bucket (HEAD /photoshare → 200).
s3rver_answers() {
  local port=$1 line=''
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'HEAD /%s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$s3rver_bucket" "$port" >&3
    IFS= read -r -t 2 line <&3 || exit 1
    [[ $line == "HTTP/1."?" 200"* ]]
  ) 2>/dev/null
}

s3rver_start() {
  local dir=$1 port=$2 pid i
  local pidfile=$dir/s3rver.pid log=$dir/s3rver.log
  command -v node >/dev/null 2>&1 ||
    { echo "service: node is not installed (scripts/setup --tests installs nodejs and npm)" >&2; return 1; }
  if [[ -f $pidfile ]] && s3rver_running "$(cat "$pidfile")"; then
    return 0  # already running from this directory
  fi
  s3rver_install "$dir" || return 1
  # Something else on the port would pass the readiness check and hide our failure to bind.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "service: port $port is already in use" >&2
    return 1
  fi
  mkdir -p "$dir/data"
  # A stop during a PUT can leave an object half-written, which s3rver would then fail to
  # list for good; remove those first, as S3 keeps nothing of a PUT it never acknowledged.
  node "$s3rver_home/recover.mjs" "$dir/data" >>"$log" 2>&1 ||
    { fail_with_log "could not recover s3rver's objects in $dir/data" "$log"; return 1; }
  # s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its
  # legacy provider: without it every truncated listing is a 500.
  node --openssl-legacy-provider "$s3rver_home/node_modules/s3rver/bin/s3rver.js" -d "$dir/data" -a 127.0.0.1 -p "$port" \
    --configure-bucket "$s3rver_bucket" </dev/null >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$pidfile"
  for ((i = 0; i < 300; i++)); do
    s3rver_running "$pid" || { rm -f "$pidfile"; fail_with_log "s3rver on port $port exited at start" "$log"; return 1; }
    s3rver_answers "$port" && return 0
    sleep 0.1
  done
  s3rver_stop_pidfile "$pidfile" 5
  fail_with_log "s3rver did not serve bucket $s3rver_bucket on port $port within 30 s" "$log"
}

s3rver_stop() {
  s3rver_stop_pidfile "$1/s3rver.pid" 10
}

s3rver_url() {
  echo "s3://$s3rver_bucket?endpoint=http://127.0.0.1:$2&path_style=true&region=us-east-1&access_key_id=S3RVER&secret_access_key=S3RVER"
}
