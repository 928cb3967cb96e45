"""A scripted OpenAI-compatible server on 127.0.0.1, so tests run the real openai and
langchain-openai clients over real HTTP (COMMON.md: mock only at the wire).

It answers `POST /v1/chat/completions` with a `chat.completion` object shaped like the real API.
What it says is scripted per structured-output schema name (e.g. "TextReading"), which it finds
where the client put it: `response_format.json_schema.name` (method="json_schema") or the forced
tool's name (method="function_calling"); for the latter the answer comes back as a tool call.
Every request body is kept in `requests` for assertions about what the client sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ScriptedReply:
    """`output`: a dict is sent as the structured JSON; a str is sent verbatim (e.g. broken
    JSON). `delay` seconds before answering (a timeout test); `status` != 200 sends an error."""

    output: dict[str, Any] | str
    delay: float = 0.0
    status: int = 200


Responder = Callable[[str, dict[str, Any]], ScriptedReply]


def schema_name(body: Mapping[str, Any]) -> str:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return str(response_format["json_schema"]["name"])
    tool_choice = body.get("tool_choice")
    if isinstance(tool_choice, dict):
        return str(tool_choice["function"]["name"])
    tools = body.get("tools") or []
    return str(tools[0]["function"]["name"]) if tools else ""


def completion(body: Mapping[str, Any], output: dict[str, Any] | str) -> dict[str, Any]:
    """A `chat.completion` object as the real API returns it."""
    content = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    finish_reason = "stop"
    if body.get("tools") and not body.get("response_format"):
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": "call_fake_1",
                "type": "function",
                "function": {"name": schema_name(body), "arguments": content},
            }
        ]
        finish_reason = "tool_calls"
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "system_fingerprint": "fp_fake",
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


class FakeOpenAI:
    """Run with `with FakeOpenAI(responder) as server:`; point clients at `server.base_url`."""

    def __init__(self, responder: Responder | Mapping[str, ScriptedReply]) -> None:
        self.responder: Responder = (
            responder if callable(responder) else _from_mapping(dict(responder))
        )
        self.requests: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def schema_names(self) -> list[str]:
        return [schema_name(body) for body in self.requests]

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # cut short any scripted delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request"}})
                    return
                fake.requests.append(body)
                reply = fake.responder(schema_name(body), body)
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                if reply.status != 200:
                    error = {"message": "scripted failure", "type": "server_error"}
                    self._send(reply.status, {"error": error})
                    return
                self._send(200, completion(body, reply.output))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def _from_mapping(replies: dict[str, ScriptedReply]) -> Responder:
    def respond(name: str, body: dict[str, Any]) -> ScriptedReply:
        if name not in replies:
            return ScriptedReply(output="", status=500)
        return replies[name]

    return respond


@contextmanager
def fake_openai(replies: Responder | Mapping[str, ScriptedReply]) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(replies) as server:
        yield server
