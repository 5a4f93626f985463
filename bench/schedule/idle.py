#!/usr/bin/env python3
"""Idle cost of `cartflow schedule` with many scheduled workflows.

Writes N workflow files whose slots are all hours away (daily, weekly, monthly, and 15-minute intervals limited
to a window), starts the daemon on them, waits until its start-up work is done, then measures the CPU time it
uses over SECONDS of idling (utime + stime from /proc/PID/stat), and stops it with SIGTERM.
Not a test: figures go in docs/performance.md.

Usage: bench/schedule/idle.py BINARY [N=1000] [SECONDS=20]
"""
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

binary = os.path.abspath(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
ticks = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def workflow(index, now):
    # Every slot is at least six hours away in its own zone, so nothing fires while we measure.
    offset = [0, 10, -5, 5, -3, 9, 1, -8][index % 8]
    zone = "UTC" if offset == 0 else f"UTC{offset:+d}"
    local_hour = (now.hour + offset + 12) % 24
    kind = index % 4
    if kind == 0:
        schedule = f'every: daily\n  at: ["{local_hour:02d}:{index % 60:02d}"]'
    elif kind == 1:
        schedule = f'every: weekly\n  at: ["{local_hour:02d}:30"]\n  days: [mon, wed, fri, sun]'
    elif kind == 2:
        schedule = f'every: monthly\n  at: ["{local_hour:02d}:00"]\n  day_of_month: [{1 + index % 28}, 31]'
    else:
        start = (now.hour + offset + 6) % 24
        end = (start + 10) % 24
        schedule = f'every: 15m\n  at: ["{start:02d}:00-{end:02d}:00"]'
    return f"""cartflow: 1
name: bench-{index:04d}
collections:
  items: {{ id: {100 + index % 50}, items: 100 }}
schedule:
  {schedule}
  timezone: {zone}
steps:
  - export: csv
    path: out/{{workflow}}.csv
"""


def main():
    work = tempfile.mkdtemp(prefix="cartflow-idle-")
    folder = os.path.join(work, "workflows")
    os.makedirs(folder)
    now = datetime.datetime.now(datetime.timezone.utc)
    for index in range(count):
        with open(os.path.join(folder, f"wf-{index:04d}.yaml"), "w") as f:
            f.write(workflow(index, now))
    env = dict(os.environ, MULTICART_API_KEY="bench-not-used", NO_COLOR="1")
    err_path = os.path.join(work, "stderr.log")
    started = time.monotonic()
    with open(err_path, "w") as err:
        daemon = subprocess.Popen(
            [binary, "schedule", "--state", os.path.join(work, "state.db"), folder],
            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        # Start-up is over when the CPU time stops growing for a second.
        last, still_since = -1.0, None
        while True:
            time.sleep(0.1)
            used = cpu_seconds(daemon.pid)
            if used != last:
                last, still_since = used, time.monotonic()
            elif time.monotonic() - still_since >= 1.0:
                break
        startup_wall = still_since - started
        startup_cpu = last
        before = cpu_seconds(daemon.pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        idle_cpu = cpu_seconds(daemon.pid) - before
        elapsed = time.monotonic() - t0
        rss = rss_mib(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    with open(err_path) as f:
        log = f.read()
    fired = sum(1 for line in log.splitlines() if ") fired" in line or ") caught up" in line)
    scheduled = f"scheduling {count} workflows" in log
    print(f"workflows: {count}, idle window: {elapsed:.1f} s, exit after SIGTERM: {code}, "
          f"all scheduled: {scheduled}, runs fired: {fired}")
    print()
    print(f"{'measure':<44}{'value':>12}")
    print(f"{'start-up (load files, first decisions), wall':<44}{startup_wall * 1000:>9.0f} ms")
    print(f"{'start-up, CPU':<44}{startup_cpu * 1000:>9.0f} ms")
    print(f"{'idle CPU time over the window':<44}{idle_cpu * 1000:>9.0f} ms")
    print(f"{'idle CPU, share of one core':<44}{100 * idle_cpu / elapsed:>10.2f} %")
    print(f"{'resident memory':<44}{rss:>8.1f} MiB")
    shutil.rmtree(work, ignore_errors=True)


main()
