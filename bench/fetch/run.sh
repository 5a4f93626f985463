#!/usr/bin/env bash
# Fetch benchmark: a 5,000-item collection in 50 page files, every file request answered 50 ms late by the
# sandbox (--fault-latency ms=50,on=file). Runs `cartflow run` at several fetch.concurrency values and compares
# the fetch time the run reports ("N files downloaded (… in X s)") with the ideal ceil(pages / concurrency) ×
# latency. Best of RUNS runs per concurrency.
#
#   bench/fetch/run.sh                 # release build (BUILD=debug to use the debug build)
#   RUNS=5 CONCURRENCY="1 8" bench/fetch/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-release}
RUNS=${RUNS:-3}
CONCURRENCY=${CONCURRENCY:-"1 4 8 16"}
ITEMS=5000
PAGE_SIZE=100
LATENCY_MS=50
PAGES=$(( (ITEMS + PAGE_SIZE - 1) / PAGE_SIZE ))

swift build -c "$BUILD" --product cartflow >/dev/null
BIN=$(swift build -c "$BUILD" --show-bin-path)/cartflow

work=$(mktemp -d)
sandbox_pid=""
cleanup() {
    if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$BIN" sandbox --port 0 --key bench-key --credits 100000000 --collection "101:Bench Items:$ITEMS" \
    --page-size "$PAGE_SIZE" --runner-reads 1 --fault-latency "ms=$LATENCY_MS,on=file" >"$work/url" 2>"$work/sandbox.err" &
sandbox_pid=$!
for _ in $(seq 1 100); do
    [ -s "$work/url" ] && break
    sleep 0.1
done
url=$(head -n 1 "$work/url")
[ -n "$url" ] || { echo "the sandbox did not start:" >&2; cat "$work/sandbox.err" >&2; exit 1; }

printf '%-12s %-10s %-10s %-8s\n' concurrency "fetch (s)" "ideal (s)" ratio
for c in $CONCURRENCY; do
    cat >"$work/bench-$c.yaml" <<YAML
cartflow: 1
name: bench-$c
collections:
  items: { id: 101 }
poll: { interval: 1s, max_interval: 1s, timeout: 5m }
fetch: { from: pages, concurrency: $c }
YAML
    best=""
    for run in $(seq 1 "$RUNS"); do
        line=$(cd "$work" && MULTICART_API_KEY=bench-key MULTICART_BASE_URL="$url" \
            "$BIN" run "bench-$c.yaml" --new --state "$work/state.db" 2>&1 >/dev/null | grep 'files downloaded' || true)
        seconds=$(sed -n 's/.* in \([0-9.]*\) s).*/\1/p' <<<"$line")
        [ -n "$seconds" ] || { echo "no fetch time in the run's output: $line" >&2; exit 1; }
        if [ -z "$best" ] || awk "BEGIN { exit !($seconds < $best) }"; then best=$seconds; fi
    done
    ideal=$(awk "BEGIN { printf \"%.3f\", int(($PAGES + $c - 1) / $c) * $LATENCY_MS / 1000 }")
    ratio=$(awk "BEGIN { printf \"%.2f\", $best / $ideal }")
    printf '%-12s %-10s %-10s %-8s\n' "$c" "$best" "$ideal" "$ratio"
done
