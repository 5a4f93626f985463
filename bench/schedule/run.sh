#!/bin/sh
# Measures the schedule math (the next 5 fire times for 1,000 varied schedules, and one catch-up decision
# each) and the daemon: `cartflow schedule` idling with 1,000 scheduled workflows (CPU share over 20 s).
# Release build. Usage: bench/schedule/run.sh [NUMBER_OF_SCHEDULES] ; IDLE_SECONDS=20 sets the idle window.
set -eu
cd "$(dirname "$0")/../.."
swift build -c release --product cartflow-bench >&2
swift build -c release --product cartflow >&2
.build/release/cartflow-bench "$@"
echo
exec python3 bench/schedule/idle.py .build/release/cartflow "${1:-1000}" "${IDLE_SECONDS:-20}"
