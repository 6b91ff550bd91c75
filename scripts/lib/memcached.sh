# memcached for scripts/service (sourced after common.sh, not run).
#
# One memcached on 127.0.0.1:PORT, TCP only (-U 0), 64 MB, with its log and pid file in
# DIR. It runs in the background rather than with -d: memcached writes its -P pid file only
# when it daemonises, and only after dropping root privileges, so as root (where it needs
# -u) it could not write DIR/pid; the shell knows the pid anyway.

# The account memcached drops to when started by root (it refuses to run as root).
memcached_user() {
  local u
  for u in memcache nobody; do
    id -u "$u" >/dev/null 2>&1 && { echo "$u"; return 0; }
  done
  return 1
}

# True while PID runs; a zombie (exited, not yet reaped by init, which may reap late) has
# stopped.
memcached_running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# memcached_stop_pidfile FILE [SECONDS]: SIGTERM, wait, SIGKILL if it lingers.
memcached_stop_pidfile() {
  local file=$1 seconds=${2:-10} pid i
  [[ -f $file ]] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && memcached_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds * 20; i++)); do
      memcached_running "$pid" || break
      sleep 0.05
    done
    memcached_running "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

memcached_start() {
  local dir=$1 port=$2 pid user user_args=() i
  local pidfile=$dir/pid log=$dir/memcached.log
  command -v memcached >/dev/null 2>&1 ||
    { echo "service: memcached is not installed (scripts/setup --tests installs it)" >&2; return 1; }
  if [[ -f $pidfile ]] && memcached_running "$(cat "$pidfile")"; then
    return 0  # already running from this directory
  fi
  # Something else on the port would pass the readiness check and hide our failure to bind.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "service: port $port is already in use" >&2
    return 1
  fi
  if [[ $(id -u) -eq 0 ]]; then
    user=$(memcached_user) || { echo "service: no memcache or nobody account to run memcached as" >&2; return 1; }
    user_args=(-u "$user")
  fi
  memcached -l 127.0.0.1 -p "$port" -U 0 -m 64 "${user_args[@]}" </dev/null >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$pidfile"
  for ((i = 0; i < 100; i++)); do
    memcached_running "$pid" || { rm -f "$pidfile"; fail_with_log "memcached on port $port exited at start" "$log"; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  memcached_stop_pidfile "$pidfile" 5
  fail_with_log "memcached did not accept connections on port $port within 10 s" "$log"
}

memcached_stop() {
  memcached_stop_pidfile "$1/pid" 10
}

memcached_url() {
  echo "memcached://127.0.0.1:$2"
}
