# shellcheck shell=bash
# HAProxy in front of photoshare servers (sourced by scripts/service and scripts/stack,
# after common.sh). The configuration is deploy/haproxy/haproxy.cfg with its server block
# replaced by the servers given, everything else as documented there.
#
#   DIR/haproxy.servers   the servers, one "NAME HOST:PORT" a line (written from
#                         $PS_HAPROXY_SERVERS when that is set: "web-1=127.0.0.1:8011 web-2=...")
#   DIR/haproxy.cfg       the configuration made from the template
#   DIR/haproxy.sock      the runtime API (level admin), for `socat stdio unix-connect:...`
#   DIR/haproxy.pid       the process
#   DIR/haproxy.log       its log: one line per request, and server state changes
#
# Clients connect to 127.0.0.1:PORT; the stats page (and Prometheus /metrics) is on
# 127.0.0.1:PORT+1 unless $PS_HAPROXY_STATS_PORT says otherwise.

haproxy_template() {
  if [[ -n ${PS_HAPROXY_TEMPLATE:-} ]]; then
    echo "$PS_HAPROXY_TEMPLATE"
  else
    local lib_dir
    lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    echo "$lib_dir/../../deploy/haproxy/haproxy.cfg"
  fi
}

# haproxy_render TEMPLATE SERVERS_FILE > CFG: the template with its server block replaced.
haproxy_render() {
  local template=$1 servers=$2
  awk -v servers="$servers" '
    /# BEGIN servers/ {
      print; skipping = 1
      while ((getline line < servers) > 0) {
        n = split(line, f, /[ \t]+/)
        if (n >= 2 && f[1] !~ /^#/) printf "    server %s %s\n", f[1], f[2]
      }
      next
    }
    /# END servers/ { skipping = 0 }
    !skipping { print }
  ' "$template"
}

# The variables the template reads; the same for `haproxy -c` and the real start.
haproxy_env() {
  local dir=$1 port=$2
  echo "PS_HAPROXY_BIND=127.0.0.1:$port"
  echo "PS_HAPROXY_STATS_BIND=127.0.0.1:${PS_HAPROXY_STATS_PORT:-$((port + 1))}"
  echo "PS_HAPROXY_DIR=$dir"
  # The configuration is written to DIR: its error pages are found where the template's are.
  local errors
  errors=$(dirname "$(haproxy_template)")/../errors
  [[ ! -d $errors ]] || echo "PS_HAPROXY_ERRORS=$(cd "$errors" && pwd)"
}

# haproxy_spawn DIR BIN CFG VAR=VALUE... -- EXTRA_ARGS...: HAProxy in the foreground of a
# session of its own (no terminal's Ctrl-C or hang-up reaches it), in the background of this
# shell; its pid (HAProxy writes no pid file in the foreground) goes to DIR/haproxy.pid.
haproxy_spawn() {
  local dir=$1 bin=$2 cfg=$3
  shift 3
  local -a vars=()
  while [[ $# -gt 0 && $1 != -- ]]; do vars+=("$1"); shift; done
  shift
  env "${vars[@]}" setsid bash -c 'echo $$ >"$1.new" && mv -f "$1.new" "$1" && shift && exec "$@"' \
    haproxy-spawn "$dir/haproxy.pid" "$bin" -f "$cfg" "$@" </dev/null >>"$dir/haproxy.log" 2>&1 &
}

# True while the HAProxy of DIR runs (an exited one that is still a zombie does not).
haproxy_running() {
  local pid state
  pid=$(cat "$1/haproxy.pid" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

haproxy_start() {
  local dir=$1 port=$2 bin template cfg=$1/haproxy.cfg log=$1/haproxy.log item
  bin=$(command -v haproxy || echo /usr/sbin/haproxy)
  [[ -x $bin ]] || { echo "service: haproxy not found; install it with scripts/setup --tests (Debian package haproxy)" >&2; return 1; }
  [[ $port =~ ^[0-9]+$ ]] || { echo "service: haproxy: bad port '$port'" >&2; return 1; }
  (( ${#dir} + 13 <= 107 )) || { echo "service: haproxy: '$dir' is too long for a unix socket path; use a shorter directory" >&2; return 1; }
  template=$(haproxy_template)
  [[ -f $template ]] || { echo "service: haproxy: no template at $template" >&2; return 1; }

  if [[ -n ${PS_HAPROXY_SERVERS:-} ]]; then
    : >"$dir/haproxy.servers"
    for item in ${PS_HAPROXY_SERVERS//,/ }; do
      [[ $item == *=* ]] || { echo "service: haproxy: PS_HAPROXY_SERVERS wants NAME=HOST:PORT items, got '$item'" >&2; return 1; }
      echo "${item%%=*} ${item#*=}" >>"$dir/haproxy.servers"
    done
  fi
  [[ -s $dir/haproxy.servers ]] || { echo "service: haproxy: no servers (write $dir/haproxy.servers or set PS_HAPROXY_SERVERS)" >&2; return 1; }

  local -a vars
  mapfile -t vars < <(haproxy_env "$dir" "$port")
  haproxy_render "$template" "$dir/haproxy.servers" >"$cfg.new"
  if ! env "${vars[@]}" "$bin" -c -q -f "$cfg.new" >"$dir/haproxy-check.log" 2>&1; then
    fail_with_log "haproxy: the configuration does not validate ($cfg.new)" "$dir/haproxy-check.log"
    return 1
  fi
  mv -f "$cfg.new" "$cfg"

  if haproxy_running "$dir"; then
    # Running already: load the new server list without dropping a connection (-sf: the old
    # process finishes its requests, then exits).
    haproxy_spawn "$dir" "$bin" "$cfg" "${vars[@]}" -- -sf "$(cat "$dir/haproxy.pid")"
  else
    # HAProxy binds with SO_REUSEPORT: a forgotten one on the same port would silently share it.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "service: haproxy: port $port is in use already" >&2
      return 1
    fi
    rm -f "$dir/haproxy.sock"
    haproxy_spawn "$dir" "$bin" "$cfg" "${vars[@]}" --
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -S $dir/haproxy.sock ]] && wait_for_port "$port" 1 && haproxy_running "$dir" && return 0
    sleep 0.1
  done
  fail_with_log "haproxy did not start on port $port" "$log"
}

haproxy_stop() {
  local dir=$1 pid i
  haproxy_running "$dir" || { rm -f "$dir/haproxy.pid" "$dir/haproxy.sock"; return 0; }
  pid=$(cat "$dir/haproxy.pid")
  # SIGUSR1 is HAProxy's graceful stop: it stops listening and finishes what is in flight.
  kill -USR1 "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    haproxy_running "$dir" || break
    sleep 0.1
  done
  haproxy_running "$dir" && stop_pidfile "$dir/haproxy.pid" 5
  rm -f "$dir/haproxy.sock"
}

haproxy_url() {
  echo "http://127.0.0.1:$2"
}

# haproxy_api DIR COMMAND...: one runtime-API command over the admin socket; prints the answer.
haproxy_api() {
  local dir=$1
  shift
  if command -v socat >/dev/null 2>&1; then
    echo "$*" | socat -t 2 stdio "unix-connect:$dir/haproxy.sock"
  else
    python3 - "$dir/haproxy.sock" "$*" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode(errors="replace"))
EOF
  fi
}
