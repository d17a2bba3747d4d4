#!/usr/bin/env bash
# One command for a newcomer on a fresh Debian 12 machine (as root): installs everything,
# then brings up the local three-data-center lab with `zeroroot lab up` (exits non-zero, naming each
# server, if one did not converge). `npm test` afterwards runs its own lab and leaves this one alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-deps.sh
npm ci --no-audit --no-fund
./bin/zeroroot fleet validate --all
exec ./bin/zeroroot lab up "$@"
