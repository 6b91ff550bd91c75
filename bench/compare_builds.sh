#!/usr/bin/env bash
# Two builds of photoshare on embedded defaults (level 0), side by side in one run: this one
# and a baseline (e.g. the commit before a refactoring). For the anonymous front page, a
# member's front page and GET /api/v1/photos the two servers alternate, five runs each;
# photoshare's own CPU per request comes from /proc, which a busy machine disturbs far less
# than requests per second.
#
#   bench/compare_builds.sh --baseline BUILD_DIR [--build DIR] [--repeats N] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/lib/common.sh
source "$root/bench/lib/common.sh"
two_builds_options 2,8 "$@"
make_work builds
declare -A port pid cookie
start_two_builds "$work" --set log.level=warn
echo "page,build,run,rps,p99_ms,cpu_us_per_request"
for page in anonymous member api; do
  for run in $(seq 1 "$repeats"); do
    for which in this baseline; do
      path=/; [[ $page == api ]] && path=/api/v1/photos
      headers=(); [[ $page == member ]] && headers=(-H "Cookie: ${cookie[$which]}")
      url=http://127.0.0.1:${port[$which]}$path
      read -r rps p99 cpu < <(cpu_per_request "${pid[$which]}" "$work/out" "$seconds" "${headers[@]}" "$url")
      echo "$page,$which,$run,$rps,$p99,$cpu"
    done
  done
done
