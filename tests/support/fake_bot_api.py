"""A local Telegram Bot API server for tests, so the real python-telegram-bot client runs.

COMMON.md: mock only what cannot run here, and then at the wire. The Telegram cloud cannot run
here, so this is a small HTTP server on 127.0.0.1 that answers `POST /bot<token>/<method>` the way
api.telegram.org does for the methods the bot uses (JSON, urlencoded or multipart bodies; the
`{"ok": ..., "result": ...}` envelope; 401 for a wrong token, 404 for an unknown method, 429 with
`parameters.retry_after`, 403 for a person who blocked the bot; deleteMessage only for 48
hours). `getUpdates` long-polls and honours `offset` exactly like Telegram: updates stay queued
until a later call confirms them, so a bot that restarts picks up what it had not confirmed.

Tests play people with `SimulatedPerson` and the `user_*` helpers, which enqueue updates as the
JSON Telegram would send, and read the bot's side with `wait_for_messages`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

JSONDict = dict[str, Any]

# Parameters whose values python-telegram-bot sends as plain strings (never JSON-encoded); every
# other parameter arrives JSON-encoded in form bodies.
_STRING_PARAMETERS = frozenset(
    {
        "text",
        "callback_query_id",
        "language_code",
        "url",
        "secret_token",
        "caption",
        "parse_mode",
        "action",
        "description",
        "short_description",
        "name",
        "inline_message_id",
    }
)


# Telegram lets a bot delete its own messages in a private chat for 48 hours.
DELETE_WINDOW_SECONDS = 48 * 3600

# Generous: CI machines are shared and a first /read may embed the kb; a wait that passes
# returns as soon as the message is there, so only failures pay for this.
DEFAULT_WAIT = 45.0


@dataclass(frozen=True, slots=True)
class SimulatedPerson:
    """Someone talking to the bot in a private chat (their chat id equals their user id)."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "en"

    def as_user(self) -> JSONDict:
        user: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def as_chat(self) -> JSONDict:
        chat: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat

    @property
    def identifiers(self) -> tuple[str, ...]:
        """What must never reach anyone else: id, username and first name."""
        return tuple(str(v) for v in (self.id, self.username, self.first_name) if v)


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as this server recorded it."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: JSONDict | None
    protect_content: bool
    raw: JSONDict
    deleted: bool = False  # the bot deleted it with deleteMessage
    # editMessageText: the chat now shows a later record of this message (same message_id),
    # which the waits see as new, since the person reads the change as the bot's answer
    superseded: bool = False
    photo: bytes | None = None  # sendPhoto: the uploaded picture's bytes

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def callback_data_for(self, label_part: str) -> str:
        """The data of the first button whose label contains `label_part` (case-insensitive)."""
        for label, data in self.buttons:
            if label_part.lower() in label.lower():
                return data
        raise LookupError(f"no button like {label_part!r} among {self.buttons}")


@dataclass(frozen=True, slots=True)
class ApiCall:
    method: str
    params: JSONDict
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class _Failure:
    error_code: int
    description: str
    retry_after: int | None = None


class FakeBotApi:
    """The Bot API on 127.0.0.1:<free port>. Use as `async with FakeBotApi() as server:`."""

    def __init__(self, token: str = "123456789:TEST-fake-token") -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "NeedToTalk",
            "username": "needtotalk_test_bot",
        }
        self.calls: list[ApiCall] = []
        self.commands: dict[str, list[JSONDict]] = {}  # language_code ("" = default) -> commands
        self.callback_answers: list[JSONDict] = []
        self.webhook: JSONDict = {}
        self._updates: deque[JSONDict] = deque()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._sent: list[SentMessage] = []
        self._read_cursor: dict[int, int] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._blocked: set[int] = set()
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----------------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{prefix}/{method}", self._dispatch)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What `TELEGRAM_API_BASE_URL` is set to so the bot talks to this server."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ----------------------------------------------------------------------- people act
    def user_sends_text(self, person: SimulatedPerson, text: str) -> JSONDict:
        return self._enqueue({"message": self._message(person, text=text)})

    def user_sends_command(self, person: SimulatedPerson, command: str) -> JSONDict:
        """`command` like "/start" or "/start payload"; marked as a bot_command entity."""
        name = command.split(maxsplit=1)[0]
        entities = [{"type": "bot_command", "offset": 0, "length": len(name)}]
        return self._enqueue({"message": self._message(person, text=command, entities=entities)})

    def user_presses_button(
        self, person: SimulatedPerson, callback_data: str, message: SentMessage
    ) -> JSONDict:
        query = {
            "id": str(next(self._update_ids) * 7919),
            "from": person.as_user(),
            "chat_instance": f"ci-{person.id}",
            "data": callback_data,
            "message": message.raw,
        }
        return self._enqueue({"callback_query": query})

    def user_sends_old_style_poll(self, person: SimulatedPerson, question: str) -> JSONDict:
        """A poll as an older self-hosted Bot API server sends it: its options lack
        `persistent_id`, which python-telegram-bot requires since Bot API 9.6, so the update
        cannot be parsed (a poison update)."""
        poll = {
            "id": f"poll-{person.id}",
            "question": question,
            "options": [{"text": "yes", "voter_count": 0}, {"text": "no", "voter_count": 0}],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        }
        return self._enqueue({"message": self._message(person, poll=poll)})

    def user_sends_sticker(self, person: SimulatedPerson) -> JSONDict:
        sticker = {
            "file_id": "CAACAgIAAxkBAAEfake",
            "file_unique_id": "AgADfake",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "🙂",
        }
        return self._enqueue({"message": self._message(person, sticker=sticker)})

    def user_sends_photo(self, person: SimulatedPerson, caption: str = "") -> JSONDict:
        photo = [
            {"file_id": "AgACfakephoto", "file_unique_id": "AQADfake", "width": 90, "height": 90}
        ]
        extra: JSONDict = {"photo": photo}
        if caption:
            extra["caption"] = caption
        return self._enqueue({"message": self._message(person, **extra)})

    def user_edits_message(
        self, person: SimulatedPerson, original: JSONDict, new_text: str
    ) -> JSONDict:
        """`original` is the update returned when the person first sent the message."""
        edited = dict(original["message"], text=new_text, edit_date=int(time.time()))
        return self._enqueue({"edited_message": edited})

    # ---------------------------------------------------------------- steering the server
    def fail_next(self, method: str, error_code: int, description: str) -> None:
        self._failures.setdefault(method, deque()).append(_Failure(error_code, description))

    def flood_wait_next(self, retry_after: int, method: str = "sendMessage") -> None:
        """The next `method` call gets Telegram's 429 with `parameters.retry_after`."""
        failure = _Failure(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        self._failures.setdefault(method, deque()).append(failure)

    def block_bot(self, person: SimulatedPerson) -> None:
        """The person blocked the bot: every sendMessage to them is 403 from now on."""
        self._blocked.add(person.id)

    async def deliver_to_webhook(self, secret_token: str | None = None) -> list[int]:
        """Post every queued update to the webhook set with setWebhook, as Telegram does.

        Sends the secret token the bot registered unless another is given; an update the bot
        answers with 200 is forgotten, others stay queued. Returns the HTTP statuses.
        """
        url = self.webhook["url"]
        token = secret_token if secret_token is not None else self.webhook.get("secret_token")
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        statuses = []
        async with ClientSession() as session:
            for update in list(self._updates):
                async with session.post(url, json=update, headers=headers) as response:
                    statuses.append(response.status)
                    if response.status == 200:
                        self._updates.remove(update)
        return statuses

    # ----------------------------------------------------------------- the bot's side
    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    async def wait_for_messages(
        self,
        chat_id: int,
        n: int = 1,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109 - the harness's documented signature
    ) -> list[SentMessage]:
        """The next `n` messages to `chat_id` not returned by an earlier wait (more if came)."""
        start = self._read_cursor.get(chat_id, 0)
        await self._wait(lambda: len(self.sent_messages(chat_id)) - start >= n, timeout, chat_id, n)
        fresh = self.sent_messages(chat_id)[start:]
        self._read_cursor[chat_id] = start + len(fresh)
        return fresh

    async def wait_for_message(
        self,
        chat_id: int,
        matches: Callable[[SentMessage], bool],
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """New messages to `chat_id` up to and including the first one that `matches`."""
        start = self._read_cursor.get(chat_id, 0)

        def found() -> int | None:
            fresh = self.sent_messages(chat_id)[start:]
            return next((i for i, m in enumerate(fresh) if matches(m)), None)

        await self._wait(lambda: found() is not None, timeout, chat_id, 1)
        end = start + (found() or 0) + 1
        self._read_cursor[chat_id] = end
        return self.sent_messages(chat_id)[start:end]

    async def wait_for_text(self, chat_id: int, fragment: str) -> list[SentMessage]:
        """New messages up to the first whose text contains `fragment`."""
        return await self.wait_for_message(chat_id, lambda m: fragment in m.text)

    async def wait_for_button(self, chat_id: int, callback_data: str) -> SentMessage:
        """The first new message that carries a button with `callback_data`."""
        messages = await self.wait_for_message(
            chat_id, lambda m: callback_data in [d for _, d in m.buttons]
        )
        return messages[-1]

    async def wait_for_button_prefix(self, chat_id: int, prefix: str) -> SentMessage:
        """The first new message with a button whose data starts with `prefix` (e.g. "a:")."""
        messages = await self.wait_for_message(
            chat_id, lambda m: any(d.startswith(prefix) for _, d in m.buttons)
        )
        return messages[-1]

    async def wait_for_message_with_any(
        self, chat_id: int, prefixes: tuple[str, ...]
    ) -> SentMessage:
        """The first new message with a button whose data starts with any of `prefixes`."""
        messages = await self.wait_for_message(
            chat_id, lambda m: any(d.startswith(prefixes) for _, d in m.buttons)
        )
        return messages[-1]

    async def wait_for_reply(
        self,
        chat_id: int,
        quiet: float = 0.25,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """At least one new message, then all that follow until `quiet` s pass without one."""
        start = self._read_cursor.get(chat_id, 0)
        await self._wait(lambda: len(self.sent_messages(chat_id)) > start, timeout, chat_id, 1)
        while True:
            count = len(self.sent_messages(chat_id))
            await asyncio.sleep(quiet)
            if len(self.sent_messages(chat_id)) == count:
                break
        fresh = self.sent_messages(chat_id)[start:]
        self._read_cursor[chat_id] = start + len(fresh)
        return fresh

    async def wait_for_call(
        self,
        method: str,
        n: int = 1,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> list[ApiCall]:
        await self._wait(lambda: len(self.calls_to(method)) >= n, timeout, method, n)
        return self.calls_to(method)

    async def wait_until_consumed(self, timeout: float = DEFAULT_WAIT) -> None:  # noqa: ASYNC109
        """Until the bot has confirmed every queued update (it fetched them and polled again)."""
        await self._wait(lambda: not self._updates, timeout, "updates consumed", 0)

    async def _wait(self, ready: Any, timeout: float, what: object, n: int) -> None:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while not ready():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                texts = [m.text[:60] for m in self._sent[-5:]]
                raise TimeoutError(f"waited {timeout}s for {n} x {what}; last sent: {texts}")
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    # --------------------------------------------------------------------- internals
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _enqueue(self, body: JSONDict) -> JSONDict:
        update = {"update_id": next(self._update_ids), **body}
        self._updates.append(update)
        self._notify()
        return update

    def _message(self, person: SimulatedPerson, **content: Any) -> JSONDict:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": person.as_chat(),
            "from": person.as_user(),
            **content,
        }

    async def _dispatch(self, request: web.Request) -> web.Response:
        prefix, method = request.match_info["prefix"], request.match_info["method"]
        if prefix != f"bot{self.token}":
            return _error(401, "Unauthorized")
        params = await _read_params(request)
        self.calls.append(ApiCall(method, params))
        self._notify()
        failures = self._failures.get(method)
        if failures:
            failure = failures.popleft()
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(failure.error_code, failure.description, extra)
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _api_getme(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getupdates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            while self._updates and offset > 0 and self._updates[0]["update_id"] < offset:
                self._updates.popleft()  # confirmed, as Telegram forgets them
            self._notify()
            remaining = deadline - asyncio.get_running_loop().time()
            if self._updates or remaining <= 0 or self._closing:
                return list(itertools.islice(self._updates, limit))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def _api_deletewebhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {}
        return True

    async def _api_setwebhook(self, params: JSONDict) -> bool:
        self.webhook = dict(params)
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_getwebhookinfo(self, params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _api_sendmessage(self, params: JSONDict) -> JSONDict | web.Response:
        chat_id = int(params["chat_id"])
        if chat_id in self._blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        text = str(params.get("text", ""))
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        raw: JSONDict = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.bot_user,
            "text": text,
        }
        if markup:
            raw["reply_markup"] = markup
        if params.get("protect_content"):
            raw["has_protected_content"] = True
        message = SentMessage(
            message_id=raw["message_id"],
            chat_id=chat_id,
            text=text,
            reply_markup=markup,
            protect_content=bool(params.get("protect_content")),
            raw=raw,
        )
        self._sent.append(message)
        self._notify()
        return raw

    async def _api_sendphoto(self, params: JSONDict) -> JSONDict | web.Response:
        chat_id = int(params["chat_id"])
        if chat_id in self._blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        photo = params.get("photo")
        if not isinstance(photo, bytes) or not photo:
            return _error(400, "Bad Request: there is no photo in the request")
        caption = str(params.get("caption", ""))
        if len(caption) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        raw: JSONDict = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.bot_user,
            "photo": [
                {
                    "file_id": f"photo-{len(self._sent)}",
                    "file_unique_id": "p",
                    "width": 1,
                    "height": 1,
                    "file_size": len(photo),
                }
            ],
            "caption": caption,
        }
        if params.get("protect_content"):
            raw["has_protected_content"] = True
        self._sent.append(
            SentMessage(
                message_id=raw["message_id"],
                chat_id=chat_id,
                text=caption,
                reply_markup=None,
                protect_content=bool(params.get("protect_content")),
                raw=raw,
                photo=photo,
            )
        )
        self._notify()
        return raw

    async def _api_answercallbackquery(self, params: JSONDict) -> bool:
        self.callback_answers.append(params)
        return True

    async def _api_editmessagereplymarkup(self, params: JSONDict) -> JSONDict | web.Response:
        return self._edit(params, reply_markup=params.get("reply_markup"))

    async def _api_editmessagetext(self, params: JSONDict) -> JSONDict | web.Response:
        chat_id, message_id = int(params.get("chat_id", 0)), int(params.get("message_id", 0))
        for message in reversed(self._sent):
            if message.chat_id == chat_id and message.message_id == message_id:
                if message.deleted or message.superseded:
                    break
                if "text" not in message.raw:
                    return _error(400, "Bad Request: there is no text in the message to edit")
                if message.text == params.get("text") and message.reply_markup == params.get(
                    "reply_markup"
                ):
                    return _error(400, "Bad Request: message is not modified")
                message.superseded = True
                raw = {**message.raw, "text": params.get("text"), "edit_date": int(time.time())}
                raw.pop("reply_markup", None)
                if params.get("reply_markup"):
                    raw["reply_markup"] = params["reply_markup"]
                edited = SentMessage(
                    message_id=message_id,
                    chat_id=chat_id,
                    text=str(params.get("text")),
                    reply_markup=params.get("reply_markup"),
                    protect_content=message.protect_content,
                    raw=raw,
                )
                self._sent.append(edited)
                self._notify()
                return raw
        return _error(400, "Bad Request: message to edit not found")

    def _edit(self, params: JSONDict, **changes: Any) -> JSONDict | web.Response:
        chat_id, message_id = int(params.get("chat_id", 0)), int(params.get("message_id", 0))
        for message in self._sent:
            if message.chat_id == chat_id and message.message_id == message_id:
                if changes.get("text") is not None:
                    message.text = message.raw["text"] = changes["text"]
                message.reply_markup = changes.get("reply_markup")
                message.raw.pop("reply_markup", None)
                if message.reply_markup:
                    message.raw["reply_markup"] = message.reply_markup
                message.raw["edit_date"] = int(time.time())
                return message.raw
        return _error(400, "Bad Request: message to edit not found")

    async def _api_deletemessage(self, params: JSONDict) -> bool | web.Response:
        """Telegram's rule for a bot in a private chat: its own message, within 48 hours."""
        chat_id, message_id = int(params.get("chat_id", 0)), int(params.get("message_id", 0))
        for message in reversed(self._sent):
            if message.chat_id == chat_id and message.message_id == message_id:
                if message.deleted:
                    break
                if time.time() - int(message.raw["date"]) > DELETE_WINDOW_SECONDS:
                    return _error(400, "Bad Request: message can't be deleted")
                for earlier in self._sent:  # every record of it goes with it
                    if earlier.chat_id == chat_id and earlier.message_id == message_id:
                        earlier.deleted = True
                self._notify()
                return True
        return _error(400, "Bad Request: message to delete not found")

    def age_message(self, message: SentMessage, seconds: float) -> None:
        """Pretend `message` was sent `seconds` earlier (for the 48-hour deletion rule)."""
        message.raw["date"] = int(message.raw["date"] - seconds)

    async def _api_sendchataction(self, params: JSONDict) -> bool:
        return True

    async def _api_setmycommands(self, params: JSONDict) -> bool:
        self.commands[str(params.get("language_code") or "")] = list(params["commands"])
        return True

    async def _api_getmycommands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    async def _api_deletemycommands(self, params: JSONDict) -> bool:
        self.commands.pop(str(params.get("language_code") or ""), None)
        return True

    async def _api_close(self, params: JSONDict) -> bool:
        return True

    async def _api_logout(self, params: JSONDict) -> bool:
        return True


def _error(code: int, description: str, parameters: JSONDict | None = None) -> web.Response:
    body: JSONDict = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


async def _read_params(request: web.Request) -> JSONDict:
    """Bot API parameters from a JSON, urlencoded or multipart body, or the query string."""
    params: JSONDict = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        params.update(body or {})
        return params
    if request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if not isinstance(value, str):
                params[key] = value.file.read()  # an uploaded file (sendPhoto): its bytes
                continue
            params[key] = value
    for key, value in list(params.items()):
        if key in _STRING_PARAMETERS or not isinstance(value, str):
            continue
        with contextlib.suppress(ValueError):
            params[key] = json.loads(value)
    return params
