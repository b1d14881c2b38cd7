"""HTTP intake throughput: POST /open311/v2/requests.json against a running `sankalp api`.

`measure_http_intake(url, api_key)` offers fixed request rates (500/s and 2,000/s by
default) for a while each, then as many as the generator can send (`max`), and reports per
stage the requests answered per second, p50/p90/p99/max latency and the answers that were
not 201. Each request is a new complaint (a random caller, no Idempotency-Key), so every
one is a real produce-and-acknowledge on Kafka.

The load generator is `wrk` with a Lua script when /usr/bin/wrk (or `wrk` on PATH) exists:
a C generator, so the Python server is what is measured. A fixed rate is kept by a
per-thread schedule in the script (wrk's `delay()` hook; wall time through LuaJIT's ffi);
its latencies run from a request's write to its answer. Without wrk, an aiohttp-based
generator runs instead and says so in `generator`: open loop, latency measured from each
request's scheduled moment, and it shares the CPU with the server it measures.

The API key must belong to a client allowed the rate (a `rate` column in the keys file,
api/keys.py), or the API answers 429. From the shell:

    python -m bench.http_intake --url http://127.0.0.1:8080 --api-key KEY [--rates 500 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

PATH = "/open311/v2/requests.json"
DEFAULT_RATES = (500, 2000)
# Places and categories the requests cycle through: valid, so every request is a 201.
SAMPLES = (
    ("drinking_water_supply", "Shimla", "Theog", "गाँव में तीन दिन से पानी नहीं आ रहा"),
    ("electricity_supply_interruption", "Kangra", "Nurpur", "बिजली नहीं है since Monday"),
    ("road_repair", "Mandi", "Gohar", "सड़क पर गड्ढे, bus cannot pass"),
    ("low_voltage", "Kullu", "Banjar", "Voltage बहुत कम है"),
)


def find_wrk() -> str | None:
    return shutil.which("wrk") or ("/usr/bin/wrk" if os.path.exists("/usr/bin/wrk") else None)


def _body(api_key: str, sample: tuple[str, str, str, str], phone: str) -> str:
    code, district, block, text = sample
    return json.dumps({"api_key": api_key, "service_code": code,
                       "attribute": {"district": district, "block": block},
                       "description": text, "phone": phone, "first_name": "Bench"},
                      ensure_ascii=False)


# --- wrk ------------------------------------------------------------------------------------

_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } sankalp_timeval;
int gettimeofday(sankalp_timeval *tv, void *tz);
]]
local tv = ffi.new("sankalp_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

local bodies = {@BODIES@}
local interval_ms = @INTERVAL_MS@   -- per thread; 0: as fast as the connections go
local next_at = nil

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  local body = bodies[math.random(#bodies)]
  body = body:gsub("PHONE", string.format("98%08d", math.random(0, 99999999)))
  return wrk.format(nil, "@PATH@", nil, body)
end

if interval_ms > 0 then
  -- An absolute schedule per thread: each request claims the next slot, so the offered
  -- rate holds however long answers take (while connections are free).
  delay = function()
    local now = now_ms()
    -- A schedule more than a second behind starts again from now, not with a burst.
    if next_at == nil or next_at < now - 1000 then next_at = now end
    local wait = next_at - now
    next_at = next_at + interval_ms
    if wait <= 0 then return 0 end
    return math.floor(wait)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'SANKALP_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def _wrk_stage(wrk: str, url: str, api_key: str, rate: float | None, seconds: float,
               connections: int, threads: int) -> dict[str, Any]:
    bodies = ", ".join(json.dumps(_body(api_key, s, "PHONE"), ensure_ascii=False)
                       .replace("\\u", "\\\\u") for s in SAMPLES)
    interval = 0.0 if rate is None else 1000.0 * threads / rate
    script = (_LUA.replace("@BODIES@", bodies).replace("@INTERVAL_MS@", repr(interval))
              .replace("@PATH@", PATH))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False,
                                     encoding="utf-8") as f:
        f.write(script)
    try:
        out = subprocess.run(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--timeout", "10s", "-s", f.name, url],
            capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(f.name)
    found = re.search(r"^SANKALP_JSON (.*)$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    raw = json.loads(found.group(1))
    duration = raw["duration_us"] / 1e6
    return {
        "offered_per_second": rate if rate is not None else "max",
        "requests": raw["requests"],
        "seconds": round(duration, 2),
        "requests_per_second": round(raw["requests"] / duration, 1),
        "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
        "not_201": raw["non_2xx"], "socket_errors": raw["socket_errors"],
    }


# --- the aiohttp fallback -------------------------------------------------------------------


async def _aiohttp_stage(url: str, api_key: str, rate: float | None, seconds: float,
                         connections: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    gate = asyncio.Semaphore(connections)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(scheduled: float) -> None:
            nonlocal errors
            body = _body(api_key, random.choice(SAMPLES), f"98{random.randrange(10**8):08d}")
            try:
                async with gate, session.post(
                        url + PATH, data=body.encode(),
                        headers={"Content-Type": "application/json"}) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            except aiohttp.ClientError:
                errors += 1
                return
            # From the scheduled moment: a generator falling behind shows as latency.
            latencies.append(time.perf_counter() - scheduled)

        started = time.perf_counter()
        tasks = []
        if rate is None:  # closed loop: each "connection" sends as soon as it has an answer
            async def loop() -> None:
                while time.perf_counter() - started < seconds:
                    await one(time.perf_counter())
            tasks = [asyncio.create_task(loop()) for _ in range(connections)]
        else:
            interval, n = 1.0 / rate, 0
            while (at := started + n * interval) < started + seconds:
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                tasks.append(asyncio.create_task(one(at)))
                n += 1
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) \
            if latencies else float("nan")

    answered = sum(statuses.values())
    return {
        "offered_per_second": rate if rate is not None else "max",
        "requests": answered, "seconds": round(elapsed, 2),
        "requests_per_second": round(answered / elapsed, 1),
        "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else float("nan"),
        "not_201": answered - statuses.get(201, 0), "socket_errors": errors,
    }


# --- the measurement ------------------------------------------------------------------------


def measure_http_intake(url: str, api_key: str, *,
                        rates: tuple[float, ...] = DEFAULT_RATES,
                        duration_seconds: float = 10.0, include_max: bool = True,
                        connections: int = 64, threads: int = 2, warmup_seconds: float = 2.0,
                        generator: str = "auto") -> dict[str, Any]:
    """Requests/s and latency of intake POSTs at each offered rate (then at the most the
    generator can offer, with `include_max`). `generator`: `auto` (wrk if installed),
    `wrk` or `aiohttp`. Returns a dict ready for JSON, one entry per stage."""
    url = url.rstrip("/")
    wrk = find_wrk() if generator in ("auto", "wrk") else None
    if generator == "wrk" and wrk is None:
        raise RuntimeError("wrk is not installed (scripts/system-deps.sh installs it)")
    plan: list[float | None] = [*rates, *([None] if include_max else [])]

    def stage(rate: float | None, seconds: float) -> dict[str, Any]:
        if wrk is not None:
            return _wrk_stage(wrk, url, api_key, rate, seconds, connections, threads)
        return asyncio.run(_aiohttp_stage(url, api_key, rate, seconds, connections))

    if warmup_seconds > 0:
        stage(min(rates or (100,)), warmup_seconds)
    stages = [stage(rate, duration_seconds) for rate in plan]
    if wrk is not None:
        version = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        name = (version.stdout or version.stderr).split("\n")[0].split(" [")[0].strip()
        label = f"{name or 'wrk'} with a Lua script ({threads} threads, {connections} connections)"
    else:
        label = (f"aiohttp-based generator (Python, open loop, {connections} connections; "
                 "shares the CPU with the server, so figures are a lower bound)")
    return {"url": url, "path": PATH, "generator": label, "cpus": os.cpu_count(),
            "duration_seconds": duration_seconds, "stages": stages}


def lines(result: dict[str, Any]) -> list[str]:
    """The measurement as a Markdown table."""
    out = [f"HTTP intake ({result['path']}), generator: {result['generator']}", "",
           "| offered/s | answered/s | p50 ms | p90 ms | p99 ms | max ms | not 201 |",
           "|---|---|---|---|---|---|---|"]
    for s in result["stages"]:
        out.append(f"| {s['offered_per_second']} | {s['requests_per_second']:,.0f} "
                   f"| {s['p50_ms']:.1f} | {s['p90_ms']:.1f} | {s['p99_ms']:.1f} "
                   f"| {s['max_ms']:.1f} | {s['not_201'] + s['socket_errors']} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_intake",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--rates", type=float, nargs="*", default=list(DEFAULT_RATES))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-max", action="store_true")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--generator", choices=["auto", "wrk", "aiohttp"], default="auto")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = measure_http_intake(args.url, args.api_key, rates=tuple(args.rates),
                                 duration_seconds=args.seconds, include_max=not args.no_max,
                                 connections=args.connections, generator=args.generator)
    print("\n".join(lines(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
