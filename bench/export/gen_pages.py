#!/usr/bin/env python3
"""Generates result pages with awkward values for the export benchmark.

Usage: gen_pages.py OUT_DIR [--pages 200] [--per-page 1000] [--seed 7]
Each page is a JSON array of product records (every 10th page is wrapped in an object with a
"results" array, the other accepted shape). Values include quotes, commas, newlines, CR, formula
starts, non-ASCII text, numbers whose text must survive (1e21, 0.30000000000000004, 100.0), nested
objects, arrays, nulls, failed records (~2 %), and a field that only appears from page 50 on, so
the CSV header must be the union across pages.
"""
import argparse
import json
import os
import random

TITLES = [
    'He said "hi", then left\nline 2',
    "Laptop 15.6\", 16 GB, 512 GB SSD",
    "=HYPERLINK(\"http://x.example\",\"Deal\")",
    "+33 6 12 34 56 78",
    "-5 % today only",
    "@home smart plug",
    "  padded title  ",
    "Écran 27 pouces — très bien",
    "日本語のタイトル 😀",
    "carriage\r\nreturn",
    "plain title number {n}",
    "tab\tseparated",
]
PRICES = ["0.30000000000000004", "1e21", "100.0", "19.99", "-5", "0", "1234567.125", "2.50"]
CURRENCIES = ["USD", "EUR", "GBP", "AUD", "JPY"]


def record(rng, page, index):
    n = page * 100000 + index
    title = rng.choice(TITLES).replace("{n}", str(n))
    rec = {
        "asin": "B%09d" % n,
        "title": title,
        "price": {"amount": "@@NUM:%s@@" % rng.choice(PRICES), "currency": rng.choice(CURRENCIES)},
        "availability": rng.choice(["In Stock", "Only 2 left, order soon", None, "Out of stock"]),
        "rating": rng.choice([4.5, 3, None, 5.0]),
        "reviews": rng.randint(0, 100000),
        "seller": {"name": rng.choice(["Acme, Inc.", "Bob's \"Best\" Shop", "Solo"]), "id": rng.randint(1, 999)},
        "tags": rng.sample(["sale", "new", "refurb", "a,b", "quote\"d"], rng.randint(0, 3)),
        "specs": {"cpu": rng.choice(["i7", "M3", "Ryzen 7"]), "ram_gb": rng.choice([8, 16, 32]),
                  "screen": {"inches": "@@NUM:15.60@@", "hz": 120}},
        "url": "https://www.amazon.example/dp/B%09d?ref=x&tag=y" % n,
        "in_stock": rng.random() < 0.8,
    }
    if page >= 50:
        rec["coupon"] = rng.choice(["SAVE10", "", None, "=1+1"])
    if rng.random() < 0.02:
        rec["status"] = "failed"
        rec["error"] = "timeout after 30s"
    return rec


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--per-page", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for page in range(1, args.pages + 1):
        records = [record(rng, page, i) for i in range(args.per_page)]
        value = {"page": page, "results": records} if page % 10 == 0 else records
        # Numbers whose text matters are written verbatim, not through float formatting.
        text = json.dumps(value, ensure_ascii=False, indent=1)
        text = text.replace('"@@NUM:', "").replace('@@"', "")
        with open(os.path.join(args.out, "Bench_1_Results_Page_%d.json" % page), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
