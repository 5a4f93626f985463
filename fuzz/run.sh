#!/bin/sh
# Builds the loader fuzz target with libFuzzer + AddressSanitizer and runs it for SECONDS (default 600).
# Usage: fuzz/run.sh [SECONDS]   — crashes are written to fuzz/crashes/; the corpus grows in fuzz/corpus/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-600}
cd "$here"
swift build -c release -Xswiftc -sanitize=fuzzer,address --product FuzzLoader
mkdir -p corpus crashes
cp -n seeds/* corpus/ 2>/dev/null || true
exec .build/release/FuzzLoader corpus -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=crashes/ -dict=yaml.dict -print_final_stats=1
