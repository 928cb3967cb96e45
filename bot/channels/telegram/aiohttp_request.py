"""python-telegram-bot's HTTP layer on aiohttp instead of httpx.

Why: every update costs the worker two Bot API calls (its answer, and stopping a pressed
button's spinner), and under load those calls were the largest part of a worker's CPU: about
40 % of the time a worker held the interpreter went to httpx and httpcore (its connection pool
scans every connection on each request and response), against ~4 % for python-telegram-bot
above it (benchmarks/load.py with py-spy). aiohttp parses HTTP in C and keeps its pool in
constant time per request. The bot already serves its webhook with aiohttp.

What python-telegram-bot expects of a request class (`BaseRequest.do_request`): the status
and the body, `TimedOut` for a timeout, `NetworkError` for anything else that went wrong on
the way. Error messages carry the exception's type only: aiohttp puts the URL in some of them,
and the URL holds the bot's token.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlencode

import aiohttp
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

DEFAULT_TIMEOUT_SECONDS = 5.0  # python-telegram-bot's own defaults (HTTPXRequest)
MEDIA_WRITE_TIMEOUT_SECONDS = 20.0


class AiohttpRequest(BaseRequest):
    """A pool of at most `connection_pool_size` connections to the Bot API; a request waits
    up to `pool_timeout` seconds for one. aiohttp has no write timeout of its own: a request's
    whole time is bounded by connect + pool + write + read instead."""

    def __init__(
        self,
        connection_pool_size: int = 8,
        *,
        read_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        write_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        connect_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        pool_timeout: float = 1.0,
        media_write_timeout: float = MEDIA_WRITE_TIMEOUT_SECONDS,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # The certificates httpx trusted (certifi's), not whatever the system has.
            trusted = ssl.create_default_context(cafile=certifi.where())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=trusted),
                headers={"User-Agent": self.USER_AGENT},
                # The Bot API's answers are JSON parsed by python-telegram-bot; no cookies.
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        timeout = aiohttp.ClientTimeout(
            total=_sum(connect, pool, write, read),
            connect=_sum(connect, pool),  # aiohttp: waiting for a pooled connection included
            sock_connect=connect,
            sock_read=read,
        )
        # An urlencoded form, as python-telegram-bot sends with httpx (each value already JSON
        # where it needs to be), encoded here: aiohttp's FormData cost ~5 % of a worker's time.
        # With a file: a multipart form.
        body: Any = None
        headers: dict[str, str] = {}
        if files and request_data is not None:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename or name, content_type=mimetype)
            body = form
        elif request_data is not None:
            body = urlencode(request_data.json_parameters).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut(f"aiohttp.{type(exc).__name__}") from None
        except aiohttp.ClientError as exc:
            # The type only: some aiohttp messages carry the URL, and the URL the token.
            raise NetworkError(f"aiohttp.{type(exc).__name__}") from None


def _given(value: ODVInput[float], default: float) -> float | None:
    """A timeout the caller passed (None: none at all), or this request's default."""
    if isinstance(value, DefaultValue):
        return default
    return value


def _sum(*parts: float | None) -> float | None:
    """The total of some timeouts; None (no limit) when any of them is None."""
    if any(part is None for part in parts):
        return None
    return float(sum(part for part in parts if part is not None))
