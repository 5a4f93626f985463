#!/usr/bin/env python3
"""The baseline: the same export job as a plain Python standard-library script (json + csv).

Usage: export_py.py csv|ndjson OUT PAGE_DIR
Reads the pages in natural order, accepts a top-level array or an object's "results" array, skips
failed records, and writes CSV (two passes for the union header, dotted names, arrays as JSON, the
formula guard) or NDJSON. It is what a user would write by hand, not a byte-for-byte twin of cartflow
(json.load turns 1e21 into 1e+21, for one).
"""
import csv
import json
import os
import re
import sys


def pages(directory):
    names = [n for n in os.listdir(directory) if n.endswith(".json")]
    names.sort(key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])
    for name in names:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            value = json.load(f)
        yield value["results"] if isinstance(value, dict) else value


def failed(rec):
    status = rec.get("status")
    if status is not None:
        return isinstance(status, str) and status.strip().lower() in ("failed", "error")
    return rec.get("error") not in (None, False, "")


def flatten(obj, prefix, out):
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict) and value:
            flatten(value, name + ".", out)
        else:
            out[name] = value


def cell(value):
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str):
        if value and value[0] in "=+-@\t\r":
            return "'" + value
        return value
    return value


def main():
    fmt, out, directory = sys.argv[1:4]
    if fmt == "ndjson":
        with open(out, "w", encoding="utf-8") as f:
            for records in pages(directory):
                for rec in records:
                    if not failed(rec):
                        f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        return
    header = {}
    for records in pages(directory):
        for rec in records:
            if not failed(rec):
                row = {}
                flatten(rec, "", row)
                for name in row:
                    header.setdefault(name, None)
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(header))
        writer.writeheader()
        for records in pages(directory):
            for rec in records:
                if not failed(rec):
                    row = {}
                    flatten(rec, "", row)
                    writer.writerow({k: cell(v) for k, v in row.items()})


if __name__ == "__main__":
    main()
