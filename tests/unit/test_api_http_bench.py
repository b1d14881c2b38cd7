"""bench/http_intake.py's plumbing, against a stub HTTP server that answers 201 (the real
API's figures come from `measure_http_intake` against `sankalp api`; docs/api.md)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import pytest
from aiohttp import web

from bench.http_intake import PATH, _aiohttp_stage, find_wrk, lines, measure_http_intake


def stub_app(seen: list[dict]) -> web.Application:
    async def intake(request: web.Request) -> web.Response:
        seen.append(json.loads(await request.read()))
        return web.json_response([{"service_request_id": "HP-1"}], status=201)

    app = web.Application()
    app.router.add_post(PATH, intake)
    return app


class StubServer:
    """The stub on its own event loop in a thread, so a generator can run in this one."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(stub_app(self.seen))
        self._loop.run_until_complete(self._runner.setup())
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._loop.run_until_complete(web.SockSite(self._runner, sock).start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> StubServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def test_the_aiohttp_generator_offers_its_rate_and_measures_latency():
    with StubServer() as server:
        stage = asyncio.run(_aiohttp_stage(server.url, "KEY", 200, 1.0, 16))
    assert 150 <= stage["requests"] <= 210 and stage["not_201"] == 0
    assert 0 < stage["p50_ms"] <= stage["p99_ms"] <= stage["max_ms"]
    body = server.seen[0]
    assert body["api_key"] == "KEY" and body["phone"].isdigit() and len(body["phone"]) == 10
    assert set(body["attribute"]) == {"district", "block"}


@pytest.mark.skipif(find_wrk() is None, reason="wrk is not installed")
def test_wrk_with_the_lua_script_keeps_a_fixed_rate_and_reports_every_stage():
    with StubServer() as server:
        result = measure_http_intake(server.url, "KEY", rates=(300,), duration_seconds=1,
                                     include_max=True, connections=8, warmup_seconds=0)
    offered, most = result["stages"]
    assert result["generator"].startswith("wrk") or "wrk" in result["generator"]
    assert offered["offered_per_second"] == 300
    assert 200 <= offered["requests_per_second"] <= 340, offered
    assert most["offered_per_second"] == "max" and most["requests"] > offered["requests"]
    assert offered["not_201"] == most["not_201"] == 0
    body = server.seen[-1]
    assert body["api_key"] == "KEY" and len(body["phone"]) == 10 and "Bench" in body["first_name"]
    table = "\n".join(lines(result))
    assert "| 300 |" in table and "| max |" in table
