#!/bin/sh
# `make bench`: every benchmark, one table each. Figures belong in docs/performance.md with the machine.
# Pass names to run some: bench/run.sh demo export loader schedule fetch
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
names=${*:-demo export loader schedule fetch}
swift build -c release --product cartflow >&2
for name in $names; do
  echo "== $name"
  if [ "$name" = demo ]; then
    python3 bench/demo/bench.py "$root/.build/release/cartflow" 3
  elif [ -f "bench/$name/run.sh" ]; then
    sh "bench/$name/run.sh"
  else
    echo "(no benchmark named $name)"
  fi
  echo
done
