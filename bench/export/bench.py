#!/usr/bin/env python3
"""Times `cartflow export` against the plain Python script on the same generated pages.

Usage: bench.py CARTFLOW_BINARY [--pages 200] [--per-page 1000] [--work DIR]
Each job runs --repeat times (default 3) under /usr/bin/time -v; the fastest run's wall time, CPU
time and peak RSS are reported. Prints a Markdown table.
"""
import argparse
import csv
import os
import platform
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(command):
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), result.stderr))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    cpu = sum(float(re.search(r"%s time \(seconds\): ([\d.]+)" % kind, result.stderr).group(1))
              for kind in ("User", "System"))
    return seconds, rss_kb / 1024, cpu


def best(repeat, command):
    """The fastest of `repeat` runs (wall time), which is the least disturbed by other load."""
    return min((timed(command) for _ in range(repeat)), key=lambda run: run[0])


def count_records(path, fmt):
    with open(path, encoding="utf-8", newline="") as f:
        if fmt == "ndjson":
            return sum(1 for _ in f)
        return sum(1 for _ in csv.reader(f)) - 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--per-page", type=int, default=1000)
    parser.add_argument("--work", default="/tmp/cartflow-bench-export")
    parser.add_argument("--repeat", type=int, default=3, help="runs per job; the fastest counts")
    args = parser.parse_args()

    pages_dir = os.path.join(args.work, "pages-%d-%d" % (args.pages, args.per_page))
    if not os.path.isdir(pages_dir):
        tmp = pages_dir + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_pages.py"), tmp,
                        "--pages", str(args.pages), "--per-page", str(args.per_page)], check=True)
        os.rename(tmp, pages_dir)
    input_bytes = sum(os.path.getsize(os.path.join(pages_dir, n)) for n in os.listdir(pages_dir))
    records = args.pages * args.per_page
    out_dir = os.path.join(args.work, "out")
    os.makedirs(out_dir, exist_ok=True)

    rows = []
    for fmt in ["csv", "ndjson"]:
        swift_out = os.path.join(out_dir, "cartflow." + fmt)
        py_out = os.path.join(out_dir, "python." + fmt)
        swift = best(args.repeat, [args.binary, "--quiet", "export", "--pages", pages_dir, "--format", fmt,
                                   "--out", swift_out])
        python = best(args.repeat, [sys.executable, os.path.join(HERE, "export_py.py"), fmt, py_out, pages_dir])
        rows.append((fmt, swift, python, os.path.getsize(swift_out)))
        # Both must have written the same number of records (not the same bytes: Python rewrites
        # numbers such as 1e21 as 1e+21).
        counts = [count_records(path, fmt) for path in (swift_out, py_out)]
        if counts[0] != counts[1]:
            sys.exit("record counts differ for %s: cartflow %d, python %d" % (fmt, counts[0], counts[1]))

    print("Input: %d records in %d pages, %.1f MB of JSON (%s)" % (records, args.pages, input_bytes / 1e6, pages_dir))
    print("Machine: %s, %s, %d CPUs, Python %s" % (platform.machine(), platform.platform(), os.cpu_count(),
                                                   platform.python_version()))
    print()
    print("| format | tool | wall s | CPU s | records/s | input MB/s | peak RSS MB | speed-up (wall) | speed-up (CPU) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for fmt, swift, python, size in rows:
        for name, (seconds, rss, cpu) in [("cartflow", swift), ("python json+csv", python)]:
            wall_ratio = "%.1f×" % (python[0] / swift[0]) if name == "cartflow" else "1.0×"
            cpu_ratio = "%.1f×" % (python[2] / swift[2]) if name == "cartflow" else "1.0×"
            print("| %s | %s | %.2f | %.2f | %s | %.1f | %.0f | %s | %s |" % (
                fmt, name, seconds, cpu, format(int(records / seconds), ","), input_bytes / 1e6 / seconds, rss,
                wall_ratio, cpu_ratio))


if __name__ == "__main__":
    main()
