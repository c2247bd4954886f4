"""Throughput of the rules path against plain jieba on the same texts.

Run: ``.venv/bin/python -m bench.tag``. The rules path tokenises once with jieba and then runs
precompiled regexes, so it should stay within a small factor of jieba alone (ratio >= 0.5) and
above 2,000 messages/s on one core.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import jieba

from handlers.understanding import Directory, load_customers_csv, understand
from handlers.understanding.scoring import parse_now

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def _best_rate(run: Callable[[], None], count: int, rounds: int) -> float:
    """Messages per second of the fastest round (least disturbed by other processes)."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default=str(DATA / "customers.csv"))
    parser.add_argument("--messages", default=str(DATA / "tagging-dev.jsonl"))
    parser.add_argument("--repeat", type=int, default=20, help="passes over the message set per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    messages: list[tuple[str, datetime]] = []
    with open(args.messages, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                messages.append((obj["text"], parse_now(obj.get("now"))))
    texts = [t for t, _ in messages] * args.repeat
    pairs = messages * args.repeat

    directory = Directory(load_customers_csv(args.customers))  # built once, as in the bot
    jieba.setLogLevel(logging.ERROR)
    jieba.initialize()
    for text, now in messages:  # warm caches (regex, jieba prefix dict) before timing
        understand(text, now, directory)
        jieba.lcut(text)

    def rules() -> None:
        for text, now in pairs:
            understand(text, now, directory)

    def plain_jieba() -> None:
        for text in texts:
            jieba.lcut(text)

    rules_rate = _best_rate(rules, len(pairs), args.rounds)
    jieba_rate = _best_rate(plain_jieba, len(texts), args.rounds)
    print(f"messages: {len(pairs)} per round ({len(messages)} distinct), best of {args.rounds} rounds")
    print(f"rules path (understand): {rules_rate:,.0f} messages/s")
    print(f"plain jieba.lcut:        {jieba_rate:,.0f} messages/s")
    print(f"ratio rules/jieba:       {rules_rate / jieba_rate:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
