# Helpers shared by the service scripts in this directory (sourced, not run).

# wait_for_port PORT SECONDS: true once something accepts TCP connections on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 seconds=${2:-30} i
  for ((i = 0; i < seconds * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# stop_pidfile FILE [SECONDS]: SIGTERM the process in FILE, wait for it, SIGKILL if it lingers.
stop_pidfile() {
  local file=$1 seconds=${2:-20} pid i
  [[ -f $file ]] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}

# as_service_user USER CMD...: runs CMD as USER when we are root (PostgreSQL and MariaDB
# refuse to run as root), else as ourselves.
as_service_user() {
  local user=$1
  shift
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

# fail_with_log MESSAGE LOGFILE: prints the message and the end of the log, returns 1.
fail_with_log() {
  echo "service: $1" >&2
  [[ -f $2 ]] && tail -n 40 "$2" >&2
  return 1
}
