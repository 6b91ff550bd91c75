#!/bin/bash
# Health check for the photoshare container: GET PATH (default /healthz) from the server in
# this container and succeed only on status 200. The image has neither curl nor wget, and
# needs neither: bash's /dev/tcp speaks enough HTTP/1.0 for this.
#
#   photoshare-healthcheck [/healthz | /readyz]
#
# The port comes from PHOTOSHARE_SERVER_LISTEN (the image sets 0.0.0.0:8080); a wildcard
# address is asked on loopback. PHOTOSHARE_HEALTHCHECK_TIMEOUT (seconds, default 2) bounds
# the wait for the answer. tests/deploy runs this script against the real server.
set -euo pipefail

path=${1:-/healthz}
listen=${PHOTOSHARE_SERVER_LISTEN:-0.0.0.0:8080}
timeout=${PHOTOSHARE_HEALTHCHECK_TIMEOUT:-2}

port=${listen##*:}
host=${listen%:*}
host=${host#[}
host=${host%]}
case $host in
    "" | "*" | 0.0.0.0) host=127.0.0.1 ;;
    ::) host=::1 ;;
    localhost) host=127.0.0.1 ;;
esac

if ! exec 3<>"/dev/tcp/$host/$port"; then
    echo "photoshare-healthcheck: cannot connect to $host:$port" >&2
    exit 1
fi
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: photoshare-healthcheck\r\n\r\n' "$path" >&3
status_line=
if ! IFS= read -r -t "$timeout" status_line <&3; then
    echo "photoshare-healthcheck: no answer from $host:$port$path within ${timeout}s" >&2
    exit 1
fi
status_line=${status_line%$'\r'}
case $status_line in
    "HTTP/1."?" 200 "*) exit 0 ;;
    *)
        echo "photoshare-healthcheck: $path answered '$status_line'" >&2
        exit 1
        ;;
esac
