#!/bin/sh
# Stand-in for the zeroroot node agent (agents/node) until it ships in the image: proves the
# supervision chain (PID 1 -> supervisord as zr-agent -> this program) and logs a heartbeat.
# Replace it through the image spec's `agentCommand`.
set -eu
sleeper=""
trap 'echo "placeholder-agent: stopping"; [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null; exit 0' TERM INT
echo "placeholder-agent: running as uid $(id -u) gid $(id -g) in $(pwd)"
while :; do
  sleep 60 &
  sleeper=$!
  wait "$sleeper" || true
  echo "placeholder-agent: heartbeat $(date -u +%Y-%m-%dT%H:%M:%SZ)"
done
