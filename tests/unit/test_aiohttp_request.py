"""The Bot API client python-telegram-bot uses here (bot/channels/telegram/aiohttp_request.py):
a timeout is `TimedOut`, anything else on the way is `NetworkError`, and neither message
carries the URL (which holds the bot's token). Against a real local HTTP server."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram.aiohttp_request import AiohttpRequest

TOKEN = "123456:SECRET-token-in-the-url"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_answer_a_slow_server_and_a_closed_port() -> None:
    async def answer(request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("slow"):
            await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": dict(form)})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    request = AiohttpRequest(2, read_timeout=0.3)
    await request.initialize()
    try:
        url = f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage"
        status, body = await request.do_request(url, "POST", RequestData(), read_timeout=5.0)
        assert status == 200 and b'"ok": true' in body

        slow = RequestData([RequestParameter("slow", "1", [])])
        with pytest.raises(TimedOut) as timed_out:
            await request.do_request(url, "POST", slow)
        assert TOKEN not in str(timed_out.value)

        closed = f"http://127.0.0.1:{_free_port()}/bot{TOKEN}/sendMessage"
        with pytest.raises(NetworkError) as failed:
            await request.do_request(closed, "POST", RequestData())
        assert not isinstance(failed.value, TimedOut)
        assert TOKEN not in str(failed.value)
        assert failed.value.__cause__ is None  # no chained error carrying the URL either
    finally:
        await request.shutdown()
        await runner.cleanup()
