"""events/s through parse → inbox → ack, beside a bare aiohttp handler, in the same run.

Each server runs in its own process; the same load generator (this process) drives both with the
same requests. Run: ``.venv/bin/python -m bench.ingest [--events N] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TEXT = "今天拜访了瑞丰机械张总，下周三再去"
ROUNDS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            try:
                async with http.post(url, json={}) as r:
                    if r.status in (200, 400, 403):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def load(url: str, events: int, concurrency: int, person_id: int) -> float:
    bodies = [{"person_id": person_id, "client_id": uuid.uuid4().hex, "text": f"{TEXT} #{i}"} for i in range(events)]
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    failures = 0

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal failures
        while not queue.empty():
            body = queue.get_nowait()
            async with http.post(url, json=body) as r:
                await r.read()
                failures += r.status != 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{failures} requests failed")
    return events / elapsed


def measure(mode: str, events: int, concurrency: int, dispatch: bool = False) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ingest_server", mode, str(port), tmp, "1" if dispatch else "0"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
        )
        try:
            url = f"http://127.0.0.1:{port}/local/api/message"
            asyncio.run(wait_ready(url))
            asyncio.run(load(url, min(200, events), concurrency, 4))  # warm-up
            # best of three: the least disturbed run on a shared machine
            return max(asyncio.run(load(url, events, concurrency, 4)) for _ in range(ROUNDS))
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    bare = measure("bare", args.events, args.concurrency)
    ours = measure("inbox", args.events, args.concurrency)
    full = measure("inbox", args.events, args.concurrency, dispatch=True)
    print(f"bare aiohttp handler        : {bare:8.0f} events/s")
    print(f"parse → inbox → ack (SQLite): {ours:8.0f} events/s   ratio {ours / bare:.2f}  (target ≥ 0.30)")
    print(f"same, dispatch running too  : {full:8.0f} events/s   ratio {full / bare:.2f}")


if __name__ == "__main__":
    main()
