#!/usr/bin/env bash
# Checks the deployment files without a cluster or a Docker engine (docs/DEPLOY.md,
# "What is checked before deployment", says more):
#   - every manifest under deploy/k8s against the Kubernetes schemas (npm kubernetes-models,
#     unknown fields refused as kubectl's strict validation does) and against each other;
#   - deploy/docker/compose.yaml against the Compose schema and itself;
#   - deploy/docker/Dockerfile against the repository and build/photoshare;
#   - that deliberately broken copies of each fail;
#   - haproxy -c on compose's HAProxy configuration, and HAProxy, photoshare and memcached
#     run with compose's configuration and health checks (skipped, and said so, where
#     haproxy, memcached or build/photoshare is missing).
#
#   tests/deploy/run.sh                 # from anywhere; exit 0 only if all passed
#   PHOTOSHARE_BINARY=path tests/deploy/run.sh
#
# Needs Node.js 18 or later and npm; installs the pinned packages (package-lock.json) into
# tests/deploy/node_modules the first time.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

command -v node >/dev/null || { echo "tests/deploy: node is not installed (scripts/setup --tests)" >&2; exit 2; }
major=$(node -p 'process.versions.node.split(".")[0]')
(( major >= 18 )) || { echo "tests/deploy: Node.js 18 or later is needed, this is $(node --version)" >&2; exit 2; }

if [[ ! -f $here/node_modules/kubernetes-models/package.json || ! -f $here/node_modules/.package-lock.json \
      || $here/package-lock.json -nt $here/node_modules/.package-lock.json ]]; then
    echo "tests/deploy: installing the pinned npm packages (npm ci)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$here"
exec node --test deploy.test.mjs
