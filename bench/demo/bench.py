#!/usr/bin/env python3
"""Demo benchmark: wall time and peak memory of `cartflow run workflows/demo.yaml --sandbox`.

Runs the demo several times in fresh scratch folders (a fresh state database each time, so every run
triggers, polls, fetches and exports) and prints a table. Peak memory is the child's maximum resident set
size from getrusage, so nothing beyond Python's standard library is needed.
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

def main():
    binary = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rows = []
    for index in range(runs):
        scratch = tempfile.mkdtemp(prefix="cartflow-bench-demo-")
        try:
            shutil.copytree(os.path.join(root, "workflows"), os.path.join(scratch, "workflows"))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            result = subprocess.run(
                [binary, "run", "workflows/demo.yaml", "--sandbox", "--quiet"],
                cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wall = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if result.returncode != 0:
                sys.exit(f"demo run failed ({result.returncode}):\n{result.stderr}")
            records = sum(int(line.split("(")[1].split()[0]) for line in result.stdout.splitlines()
                          if "records," in line)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            rows.append((index + 1, wall, cpu, after.ru_maxrss / 1024, records))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    print("demo run (workflows/demo.yaml --sandbox: 2 collections, 370 items, 5 pages, CSV + NDJSON)")
    print(f"{'run':>3}  {'wall s':>7}  {'CPU s':>6}  {'peak RSS MB':>11}  {'records':>7}")
    for run, wall, cpu, rss, records in rows:
        print(f"{run:>3}  {wall:>7.2f}  {cpu:>6.2f}  {rss:>11.1f}  {records:>7}")
    print("note: the embedded sandbox finishes a runner as soon as the run history has listed it once, so the")
    print("      run never waits a poll interval: the figures are cartflow's own work plus loopback HTTP.")

if __name__ == "__main__":
    main()
