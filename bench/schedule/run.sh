#!/bin/sh
# Measures the schedule math: the next 5 fire times for 1,000 varied schedules (intervals with and without
# windows, daily, weekly, monthly; eight zones), and one catch-up decision each. Release build.
# Usage: bench/schedule/run.sh [NUMBER_OF_SCHEDULES]
set -eu
cd "$(dirname "$0")/../.."
swift build -c release --product cartflow-bench >&2
exec .build/release/cartflow-bench "$@"
