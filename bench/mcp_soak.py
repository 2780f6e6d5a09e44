#!/usr/bin/env python
"""MCP soak: 20 concurrent MCP sessions (the official SDK's client, half on the
initialize handshake, half on 2026-07-28) calling a demo operation through /mcp for
30 s against the production profile (gunicorn with its config, the sync worker,
Typesense, the demo services). Baseline in the same run: as many REST clients sending
/interact requests that make the same service call. Prints calls/s, p50/p99 and every
error, and checks that every MCP call is in GET /logs.

    python bench/mcp_soak.py [--sessions 20] [--seconds 30]
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time

import anyio
import httpx
import httpx2
from _harness import percentile
from load_test import Stack
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def rest_client(n, stack, deadline, latencies, errors):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.port}", headers={"X-API-KEY": stack.api_key},
                                 timeout=60) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await client.post("/interact", json={"user_input": "list characters"})
                ok = response.status_code == 200 and response.json()["service_responses"]
            except httpx.HTTPError as error:
                ok, response = False, error
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors.append(repr(response)[:200])


async def mcp_session(n, stack, deadline, latencies, errors, markers):
    async with httpx2.AsyncClient(headers={"X-API-KEY": stack.api_key}, timeout=60) as http:
        mode = "legacy" if n % 2 else "auto"
        async with Client(streamable_http_client(f"http://127.0.0.1:{stack.port}/mcp", http_client=http), mode=mode) as client:
            i = 0
            while time.monotonic() < deadline:
                marker = f"soak-s{n:02d}c{i:05d}"
                started = time.perf_counter()
                try:
                    result = await client.call_tool("character-service__listCharacters", {"name": marker})
                    if result.is_error:
                        errors.append(result.content[0].text[:200])
                except Exception as error:
                    errors.append(repr(error)[:200])
                latencies.append(time.perf_counter() - started)
                markers.append(marker)
                i += 1


def logged_markers(stack) -> set[str]:
    found, offset = set(), 0
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.port}", headers={"X-API-KEY": stack.api_key}, timeout=60) as c:
        while True:
            page = c.get("/logs", params={"limit": 1000, "offset": offset}).json()["logs"]
            for entry in page:
                if entry["user_input"].startswith("tools/call character-service__listCharacters "):
                    found.add(json.loads(entry["user_input"].split(" ", 2)[2])["name"])
            if len(page) < 1000:
                return found
            offset += 1000


def summary(name, latencies, errors, seconds) -> str:
    return (f"{name:<32} {len(latencies):>6} calls {len(latencies) / seconds:>7.1f}/s   p50 "
            f"{percentile(latencies, 0.5) * 1000:>7.1f} ms   p99 {percentile(latencies, 0.99) * 1000:>7.1f} ms   "
            f"{len(errors)} errors")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    stack = Stack(f"sqlite:///{tempfile.mkdtemp(prefix='ensemble-mcp-soak-')}/soak.sqlite3")
    try:
        stack.start()
        rest_latencies, rest_errors = [], []

        async def baseline():
            deadline = time.monotonic() + args.seconds
            await asyncio.gather(*(rest_client(n, stack, deadline, rest_latencies, rest_errors)
                                   for n in range(args.sessions)))

        cpu = time.process_time()
        asyncio.run(baseline())
        rest_cpu = time.process_time() - cpu
        mcp_latencies, mcp_errors, markers = [], [], []

        async def soak():
            deadline = time.monotonic() + args.seconds
            async with anyio.create_task_group() as group:
                for n in range(args.sessions):
                    group.start_soon(mcp_session, n, stack, deadline, mcp_latencies, mcp_errors, markers)

        cpu = time.process_time()
        anyio.run(soak)
        mcp_cpu = time.process_time() - cpu
        missing = set(markers) - logged_markers(stack)
    finally:
        stack.stop()
    print(f"{args.sessions} concurrent clients, {args.seconds} s each pass (SQLite, production profile)")
    print(summary("baseline: POST /interact (REST)", rest_latencies, rest_errors, args.seconds))
    print(summary("MCP tools/call over /mcp", mcp_latencies, mcp_errors, args.seconds))
    # The driver shares the cores with the server: its own CPU time per call tells how
    # much of a difference is the client's.
    print(f"driver CPU per call: REST {rest_cpu / max(len(rest_latencies), 1) * 1000:.1f} ms, "
          f"MCP SDK client {mcp_cpu / max(len(mcp_latencies), 1) * 1000:.1f} ms")
    for error in (rest_errors + mcp_errors)[:10]:
        print("   error:", error)
    print(f"MCP calls missing from GET /logs: {len(missing)}")
    if mcp_errors or rest_errors or missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
