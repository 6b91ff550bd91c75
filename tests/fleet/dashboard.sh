#!/usr/bin/env bash
# The fleet's dashboard in Chromium: starts `photoshare fleet` (HAProxy and two servers on a
# shared SQLite file, loopback ports), sends it a little load and one scaling event, then
# opens the dashboard with playwright-core (dashboard.test.mjs) and takes screenshots.
#
#   tests/fleet/dashboard.sh build/photoshare
#
# Environment: CHROMIUM (default /usr/bin/chromium), FLEET_SCREENSHOTS (default
# fleet-screenshots/ beside the binary, in the build directory), FLEET_KEEP=1 keeps the
# temporary directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 PHOTOSHARE_BINARY" >&2; exit 2; }
binary=$(realpath -- "$1")
chromium=${CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || { echo "fleet dashboard: no Chromium at $chromium (apt-get install -y chromium)" >&2; exit 2; }
command -v node >/dev/null || { echo "fleet dashboard: node is not installed" >&2; exit 2; }
e2e=$here/../e2e
if [[ ! -f $e2e/node_modules/playwright-core/package.json ]]; then
  echo "fleet dashboard: installing playwright-core in tests/e2e (npm ci)"
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/photoshare-fleet-ui.XXXXXX")
fleet_pid=
status=1
cleanup() {
  [[ -n ${load_pid:-} ]] && kill "$load_pid" 2>/dev/null || true
  if [[ -n $fleet_pid ]] && kill -0 "$fleet_pid" 2>/dev/null; then
    kill -TERM "$fleet_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$fleet_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$fleet_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 ]]; then
    echo "---- fleet log ----" >&2
    tail -n 60 "$work/fleet.out" >&2 || true
  fi
  if [[ ${FLEET_KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf -- "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# 20 ports below the kernel's ephemeral range (32768 and up by default): a port in it may be
# the local end of some outgoing connection, which a connect test does not see and which
# makes HAProxy's bind fail with "Address already in use".
for _ in $(seq 1 50); do
  base=$((20000 + (RANDOM % 600) * 20))
  ok=1
  for p in $(seq "$base" $((base + 19))); do port_free "$p" || { ok=0; break; }; done
  ((ok)) && break
done
mkdir -p "$work/shared"
cat >"$work/fleet.toml" <<TOML
state_dir = "state"
[servers]
min = 1
max = 3
initial = 2
base_port = $((base + 10))
[servers.settings]
"database.url" = "sqlite://$work/shared/photoshare.db"
"storage.url" = "file://$work/shared/media"
"server.shutdown_delay" = "1s"
"log.access" = "false"
[haproxy]
listen = "127.0.0.1:$base"
[dashboard]
listen = "127.0.0.1:$((base + 1))"
[policy]
interval = "1s"
[policy.step]
period = "3s"
cooldown = "4s"
TOML
"$binary" fleet --config "$work/fleet.toml" >"$work/fleet.out" 2>&1 &
fleet_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$((base + 1))/api/status" | grep -q '"in_service":2' && break
  sleep 0.2
done
# A little load through HAProxy while the policy runs: two servers, idle enough to scale in.
( while :; do curl -s -o /dev/null "http://127.0.0.1:$base/"; sleep 0.05; done ) &
load_pid=$!
"$binary" fleet knobs --config "$work/fleet.toml" --latency-ms 300 >/dev/null
sleep 8
export FLEET_SCREENSHOTS=${FLEET_SCREENSHOTS:-$(dirname "$binary")/fleet-screenshots}
FLEET_URL="http://127.0.0.1:$((base + 1))" CHROMIUM=$chromium NODE_PATH=$e2e/node_modules \
  node --test "$here/dashboard.test.mjs"
echo "screenshots in $FLEET_SCREENSHOTS"
status=0
