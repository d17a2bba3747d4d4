#!/usr/bin/env bash
# One command for a newcomer on a fresh Debian 12 machine (as root): installs everything,
# then brings up the local three-data-center lab with `zeroroot lab up`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-deps.sh
npm ci --no-audit --no-fund
./bin/zeroroot fleet validate --all
exec ./bin/zeroroot lab up "$@"
