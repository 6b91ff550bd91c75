# Redis for scripts/service (sourced after common.sh, not run).
#
# One redis-server on 127.0.0.1:PORT with everything under DIR (config, pid file, log) and
# no persistence: it holds sessions and cache entries that may be lost. When REDIS_PASSWORD
# is set, clients must AUTH with it (as the default user); it goes into DIR/redis.conf
# (mode 600), not onto the command line, so `ps` does not show it.

# redis_conf_quote STRING: STRING as a double-quoted redis.conf argument, every byte
# escaped as \xHH, so no character can end the string or the line.
redis_conf_quote() {
  local LC_ALL=C s=$1 out='"' i
  for ((i = 0; i < ${#s}; i++)); do
    printf -v out '%s\\x%02x' "$out" "'${s:i:1}"
  done
  printf '%s"' "$out"
}

# redis_url_encode STRING: STRING percent-encoded for the userinfo of a URL.
redis_url_encode() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v out '%s%%%02X' "$out" "'$c" ;;
    esac
  done
  printf '%s' "$out"
}

# True while PID runs; a zombie (exited, not yet reaped by init, which may reap late) has
# stopped.
redis_running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# redis_stop_pidfile FILE [SECONDS]: SIGTERM, wait, SIGKILL if it lingers.
redis_stop_pidfile() {
  local file=$1 seconds=${2:-10} pid i
  [[ -f $file ]] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && redis_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds * 20; i++)); do
      redis_running "$pid" || break
      sleep 0.05
    done
    redis_running "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

redis_start() {
  local dir=$1 port=$2 pid='' i
  local conf=$dir/redis.conf pidfile=$dir/redis.pid log=$dir/redis.log
  command -v redis-server >/dev/null 2>&1 ||
    { echo "service: redis-server is not installed (scripts/setup --tests installs it)" >&2; return 1; }
  if [[ -f $pidfile ]] && redis_running "$(cat "$pidfile")"; then
    return 0  # already running from this directory
  fi
  # Something else on the port would answer the readiness check and hide our failure.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "service: port $port is already in use" >&2
    return 1
  fi
  rm -f "$pidfile"
  (
    umask 077
    {
      echo "port $port"
      echo "bind 127.0.0.1"
      echo "dir $(redis_conf_quote "$dir")"
      echo "pidfile $(redis_conf_quote "$pidfile")"
      echo "logfile $(redis_conf_quote "$log")"
      echo "daemonize yes"
      echo 'save ""'
      echo "appendonly no"
      if [[ -n ${REDIS_PASSWORD:-} ]]; then
        echo "requirepass $(redis_conf_quote "$REDIS_PASSWORD")"
      fi
    } >"$conf"
  )
  redis-server "$conf" </dev/null >>"$log" 2>&1 || { fail_with_log "redis-server did not start" "$log"; return 1; }
  for ((i = 0; i < 100; i++)); do
    if [[ -z $pid && -s $pidfile ]]; then
      pid=$(cat "$pidfile")
    fi
    if [[ -n $pid ]]; then
      redis_running "$pid" || { rm -f "$pidfile"; fail_with_log "redis-server on port $port exited at start" "$log"; return 1; }
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    fi
    sleep 0.1
  done
  redis_stop_pidfile "$pidfile" 5
  fail_with_log "redis-server did not accept connections on port $port within 10 s" "$log"
}

redis_stop() {
  redis_stop_pidfile "$1/redis.pid" 10
}

redis_url() {
  if [[ -n ${REDIS_PASSWORD:-} ]]; then
    echo "redis://:$(redis_url_encode "$REDIS_PASSWORD")@127.0.0.1:$2/0"
  else
    echo "redis://127.0.0.1:$2/0"
  fi
}
