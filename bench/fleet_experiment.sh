#!/usr/bin/env bash
# The seed's level-3 experiment, recorded: `photoshare fleet` (HAProxy, photoshare servers on
# one shared SQLite file, the seed's step policy with short periods) under load from wrk:
#
#   1. steady load, latency knob 0                  -> one server
#   2. latency knob raised to 1200 ms on the fleet  -> it grows, one server per cooldown, to max
#   3. latency knob back to 0                       -> it shrinks to min
#   4. a load ramp: every server 100 ms a request and 2 slots (20 req/s each, like a pool of
#      PHP workers), 10 -> 30 -> 60 concurrent clients, then 4 -> latency follows the load,
#      the fleet follows the latency, and shrinks when the load goes
#
# Writes docs/images/fleet-experiment.svg (fleet size, latency and request rate over time,
# drawn by the fleet's own dashboard) and the section between <!-- fleet:begin --> and
# <!-- fleet:end --> of docs/PERFORMANCE.md: the time to react and the failed requests.
#
#   bench/fleet_experiment.sh [PHOTOSHARE_BINARY]     (default build/photoshare)
#
# PERIOD (default 10) and COOLDOWN (default 10) are the policy's, in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
binary=$(realpath -- "${1:-${PHOTOSHARE_BINARY:-build/photoshare}}")
[[ -x $binary ]] || { echo "no photoshare binary at $binary (build it, or pass its path)" >&2; exit 1; }
for tool in wrk curl python3; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
period=${PERIOD:-10}
cooldown=${COOLDOWN:-10}

work=$(mktemp -d "${TMPDIR:-/tmp}/photoshare-fleet-bench.XXXXXX")
fleet_pid=
cleanup() {
  jobs -p | xargs -r kill 2>/dev/null || true
  if [[ -n $fleet_pid ]] && kill -0 "$fleet_pid" 2>/dev/null; then
    kill -TERM "$fleet_pid"
    for _ in $(seq 1 150); do kill -0 "$fleet_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  [[ ${KEEP:-0} == 1 ]] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 50); do
  base=$((20000 + (RANDOM % 2000) * 20))
  ok=1
  for p in $(seq "$base" $((base + 19))); do port_free "$p" || { ok=0; break; }; done
  ((ok)) && break
done
front=127.0.0.1:$base
dash=127.0.0.1:$((base + 1))
mkdir -p "$work/shared"
cat >"$work/fleet.toml" <<TOML
state_dir = "state"
[servers]
min = 1
max = 4
initial = 1
base_port = $((base + 10))
[servers.settings]
"database.url" = "sqlite://$work/shared/photoshare.db"
"storage.url" = "file://$work/shared/media"
"server.shutdown_delay" = "1s"
"server.trusted_proxies" = "127.0.0.1"
"log.access" = "false"
[haproxy]
listen = "$front"
[dashboard]
listen = "$dash"
[policy]
kind = "step"
interval = "1s"
[policy.step]
metric = "latency"
high = 1000
low = 500
period = "${period}s"
cooldown = "${cooldown}s"
TOML

"$binary" fleet --config "$work/fleet.toml" >"$work/fleet.out" 2>&1 &
fleet_pid=$!
for _ in $(seq 1 150); do
  curl -sf "http://$dash/api/status" 2>/dev/null | grep -q '"in_service":1' && break
  sleep 0.2
done
curl -sf "http://$dash/api/status" >/dev/null || { echo "the fleet did not start:" >&2; tail -20 "$work/fleet.out" >&2; exit 1; }

fleet_t() { curl -sf "http://$dash/api/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["t"])'; }
knobs() { "$binary" fleet knobs --config "$work/fleet.toml" "$@" >/dev/null; }
marks=()
mark() { marks+=("$(fleet_t) $1"); echo "==> $(date +%T) $1"; }
# wrk STAGE CONNECTIONS SECONDS DELAY_MS: one load stage (in the background), its output kept.
stage() {
  DELAY_MS=$4 wrk -t1 -c"$2" -d"$3"s --timeout 20s -s bench/paced.lua "http://$front/" >"$work/wrk-$1.out" 2>&1
}

mark "steady load (8 clients, 100 ms apart), latency knob 0"
stage knob 8 $((period + 5 + 2 * (period + 3 * cooldown + 10))) 100 &
knob_load=$!
sleep $((period + 5))
mark "latency knob 1200 ms"
knobs --latency-ms 1200
sleep $((period + 3 * cooldown + 10))
mark "latency knob 0"
knobs --latency-ms 0
wait "$knob_load"
sleep 2
mark "load ramp: knobs latency 100 ms, 2 slots per server; 10 clients"
knobs --latency-ms 100 --slots 2
stage ramp10 10 $((period + 10)) 0
mark "30 clients"
stage ramp30 30 $((2 * period + 2 * cooldown)) 0
mark "60 clients"
stage ramp60 60 $((2 * period + 2 * cooldown)) 0
mark "4 clients"
stage ramp4 4 $((period + 3 * cooldown + 10)) 0
mark "end"

curl -sf "http://$dash/charts/summary.svg" >"$work/summary.svg"
curl -sf "http://$dash/api/status" >"$work/status.json"
kill -TERM "$fleet_pid"
for _ in $(seq 1 150); do kill -0 "$fleet_pid" 2>/dev/null || break; sleep 0.2; done
fleet_pid=

mkdir -p docs/images
cp "$work/summary.svg" docs/images/fleet-experiment.svg
printf '%s\n' "${marks[@]}" >"$work/marks.txt"

python3 - "$work" "$root/docs/PERFORMANCE.md" "$period" "$cooldown" <<'EOF'
import json, os, re, sys, glob, datetime, platform, subprocess
work, perf, period, cooldown = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ticks = [json.loads(l) for l in open(f"{work}/state/history.jsonl") if l.strip()]
events = [json.loads(l) for l in open(f"{work}/state/events.jsonl") if l.strip()]
marks = []
for line in open(f"{work}/marks.txt"):
    t, label = line.split(" ", 1)
    marks.append((float(t), label.strip()))

def first(kind, after, before=1e9):
    for e in events:
        if e["kind"] == kind and after < e["t"] < before:
            return e["t"]
    return None

def when(pred, after, before=1e9):
    for t in ticks:
        if after < t["t"] < before and pred(t):
            return t["t"]
    return None

def mark(label):
    return next(t for t, l in marks if l.startswith(label))

rows = []
raise_t, lower_t, ramp_t, r30, r60, r4, end = (mark("latency knob 1200"), mark("latency knob 0"), mark("load ramp"),
                                               mark("30 clients"), mark("60 clients"), mark("4 clients"), mark("end"))
def fmt(x, base):
    return "—" if x is None else f"{x - base:.1f} s"
rows.append(("latency knob 0 → 1200 ms", fmt(first("scale-out", raise_t, lower_t), raise_t),
             fmt(when(lambda t: t["in_service"] >= 2, raise_t, lower_t), raise_t),
             fmt(when(lambda t: t["in_service"] >= 4, raise_t, lower_t), raise_t) + " (to 4)"))
rows.append(("latency knob 1200 → 0 ms", fmt(first("scale-in", lower_t, ramp_t), lower_t),
             fmt(when(lambda t: t["in_service"] + t["starting"] <= 3 and t["draining"] == 0, lower_t, ramp_t), lower_t),
             fmt(when(lambda t: t["in_service"] == 1 and t["draining"] == 0, lower_t, ramp_t), lower_t) + " (to 1)"))
def in_service_at(a):
    before = [t for t in ticks if t["t"] <= a]
    return before[-1]["in_service"] if before else 0
for label, a, b in (("load 10 → 30 clients", r30, r60), ("load 30 → 60 clients", r60, r4)):
    base_n = in_service_at(a)
    rows.append((label, fmt(first("scale-out", a, b), a),
                 fmt(when(lambda t, n=base_n: t["in_service"] > n, a, b), a),
                 f"{base_n} → {max(t['in_service'] for t in ticks if a < t['t'] < b)} servers"))
rows.append(("load 60 → 4 clients", fmt(first("scale-in", r4, end), r4),
             fmt(when(lambda t, n=in_service_at(r4): t["in_service"] < n and t["draining"] == 0, r4, end), r4),
             fmt(when(lambda t: t["in_service"] == 1 and t["draining"] == 0, r4, end), r4) + " (to 1)"))

# Failed requests: wrk's count of non-2xx/3xx answers and socket errors, and HAProxy's log.
wrk_total = wrk_bad = wrk_socket = 0
for f in sorted(glob.glob(f"{work}/wrk-*.out")):
    text = open(f).read()
    m = re.search(r"(\d+) requests in", text)
    wrk_total += int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    wrk_bad += int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        wrk_socket += sum(int(x) for x in m.groups())
status = json.load(open(f"{work}/status.json"))
tot = status["totals"]
lb_failed = tot["status_5xx"] + tot["failed"]
actions = sum(1 for e in events if e["kind"] in ("scale-out", "scale-in"))
peak = max(t["in_service"] for t in ticks)
lat_max = max((t["latency_ms"] or 0) for t in ticks)
duration = ticks[-1]["t"]

cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
out = [f"<!-- fleet:begin (written by bench/fleet_experiment.sh) -->",
       f"Measured {datetime.date.today().isoformat()} on {os.cpu_count()} cores ({cpu}), everything on this one machine: HAProxy, "
       f"the photoshare servers (one shared SQLite file), `photoshare fleet` and wrk. Command: `bench/fleet_experiment.sh`.",
       "",
       f"The seed's policy with short periods: average latency at the load balancer > 1000 ms for {period} s → +1 server, "
       f"< 500 ms for {period} s → −1, cooldown {cooldown} s, evaluated every second; min 1, max 4. "
       f"Run of {duration:.0f} s; {actions} scaling actions; at most {peak} servers; latency peaked at {lat_max:.0f} ms (one-second mean).",
       "",
       "![Fleet size, latency and requests per second over the run](images/fleet-experiment.svg)",
       "",
       "| change | first scaling decision | a new server in service / one gone | end state |",
       "|---|---|---|---|"]
for r in rows:
    out.append("| " + " | ".join(r) + " |")
out += ["",
        f"**Failed requests: {wrk_bad + wrk_socket} of {wrk_total}** as wrk counts them (non-2xx/3xx answers: {wrk_bad}; "
        f"socket errors and timeouts: {wrk_socket}); HAProxy logged {tot['requests']} requests, {lb_failed} of them 5xx or unanswered "
        f"({tot['retries']} retries). Scale-in drains: HAProxy stops sending a server new requests, the fleet waits for its sessions "
        f"to end, then sends SIGTERM.",
        "",
        "Time to react is bounded by the policy, not by the machinery: the period (the average must be over the threshold "
        "for a whole period), then one cooldown per further server; starting a server and registering it in HAProxy takes "
        "about 0.1–0.2 s (the `ready` events in the log). Lowering the knob is noticed sooner than a period: the average is",
        "weighted by requests, as the ELB's is, and fast requests outnumber the slow ones of the period at once.",
        "<!-- fleet:end -->"]
section = "\n".join(out)
text = open(perf).read()
if "<!-- fleet:begin" in text and "<!-- fleet:end -->" in text:
    text = re.sub(r"<!-- fleet:begin.*?<!-- fleet:end -->", lambda m: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n## Level 3: the fleet follows the latency\n\n" + section + "\n"
open(perf, "w").write(text)
print(section)
EOF
