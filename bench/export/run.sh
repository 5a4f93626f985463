#!/bin/sh
# Export benchmark: builds cartflow in release mode once, generates 200,000 records in 200 pages
# (cached under /tmp/cartflow-bench-export), and times `cartflow export` against a plain Python
# json+csv script doing the same job. Extra arguments go to bench.py (e.g. --pages 20).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product cartflow >&2
exec python3 bench/export/bench.py "$root/.build/release/cartflow" "$@"
