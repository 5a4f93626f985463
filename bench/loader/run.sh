#!/bin/sh
# Builds the loader benchmark in release mode and prints its table (see docs/performance.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
swift build -c release --package-path "$here" --product LoaderBench >&2
exec "$here/.build/release/LoaderBench"
