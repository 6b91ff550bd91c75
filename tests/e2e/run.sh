#!/usr/bin/env bash
# Browser test: starts SERVER_BINARY on a free loopback port with an empty data directory,
# drives it with Debian's Chromium through playwright-core (site.test.mjs), then stops the
# server with SIGTERM and requires exit status 0. Prints the server log on any failure.
#
#   tests/e2e/run.sh build/photoshare
#
# Environment: CHROMIUM (default /usr/bin/chromium), E2E_SCREENSHOTS (default
# tests/e2e/screenshots), E2E_IMAGES (default: the shared test data beside the repository,
# ../shared/testdata/images, else /work/shared/testdata/images),
# E2E_KEEP=1 keeps the temporary directory.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -ne 1 ]]; then
    echo "usage: $0 SERVER_BINARY" >&2
    exit 2
fi
server=$(realpath -- "$1")
[[ -x $server ]] || { echo "e2e: $1 is not an executable file" >&2; exit 2; }
if [[ -z ${E2E_IMAGES:-} ]]; then
    E2E_IMAGES=$(cd "$here/../../.." && pwd)/shared/testdata/images
    [[ -d $E2E_IMAGES ]] || E2E_IMAGES=/work/shared/testdata/images
    export E2E_IMAGES
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || { echo "e2e: no Chromium at $chromium (apt-get install -y chromium)" >&2; exit 2; }
command -v node >/dev/null || { echo "e2e: node is not installed" >&2; exit 2; }

if [[ ! -f $here/node_modules/playwright-core/package.json ]]; then
    echo "e2e: installing playwright-core (npm ci)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/photoshare-e2e.XXXXXX")
log=$work/server.log
server_pid=
status=1

cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -f $log ]]; then
        echo "---- server log ($log) ----" >&2
        tail -n 200 "$log" >&2
        echo "---- end of server log ----" >&2
    fi
    if [[ ${E2E_KEEP:-0} == 1 ]]; then
        echo "e2e: kept $work" >&2
    else
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port: the kernel picks one, and the server is started on it right away. If another
# process takes it in between, the server fails to bind and the test fails loudly.
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})')
base=http://127.0.0.1:$port

mkdir -p "$work/data" "$work/home"
"$server" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$log" 2>&1 &
server_pid=$!

ready=0
for _ in $(seq 1 200); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "e2e: the server exited during start-up" >&2
        exit 1
    fi
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$base/healthz" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.1
done
[[ $ready == 1 ]] || { echo "e2e: the server did not answer $base/healthz within 20 s" >&2; exit 1; }
echo "e2e: server pid $server_pid on $base, data in $work/data"

# Chromium writes to $HOME and XDG directories: keep them in the temporary directory, so the
# test runs the same as root and as a user without a writable home.
test_status=0
(
    cd "$here"
    HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_CACHE_HOME=$work/home/.cache \
    PHOTOSHARE_URL=$base CHROMIUM=$chromium \
        timeout --kill-after=10 150 node --test --test-reporter=spec site.test.mjs
) || test_status=$?

# Graceful stop: SIGTERM must drain and exit 0 within 20 s.
kill -TERM "$server_pid"
stop_status=
for _ in $(seq 1 200); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        stop_status=0
        wait "$server_pid" || stop_status=$?
        break
    fi
    sleep 0.1
done
if [[ -z $stop_status ]]; then
    echo "e2e: the server did not stop within 20 s of SIGTERM" >&2
    exit 1
fi
server_pid=
if [[ $stop_status -ne 0 ]]; then
    echo "e2e: the server exited with status $stop_status after SIGTERM (expected 0)" >&2
    exit 1
fi
if [[ $test_status -ne 0 ]]; then
    echo "e2e: browser test failed (status $test_status)" >&2
    exit 1
fi
status=0
echo "e2e: passed; screenshots in ${E2E_SCREENSHOTS:-$here/screenshots}"
