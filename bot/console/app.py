"""The counsellor console: a server-rendered Starlette app with Jinja2 templates.

Every page but the login page needs a server-side session (bot/console/auth.py); every form
carries the session's CSRF token (the login form a double-submit cookie), and a form without
the right one is refused before anything happens. Cookies are HttpOnly, SameSite=Strict and
Secure. Database work runs in Starlette's thread pool, never on the event loop.

What a page may show about a person: the case's random pseudonym, the flags, the text kept for
review, the mood level 0-3 and what counsellors did. Never a Telegram id, username or name:
nothing of the kind is stored in clear, and the delivery address is never opened here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.cards.compose import load_cards_policy
from bot.config import Settings
from bot.console import actions
from bot.console.auth import (
    LoginOutcome,
    authenticate,
    aware,
    csrf_ok,
    end_session,
    session_for,
    start_session,
)
from bot.console.policy import ConsolePolicy, load_console_policy
from bot.domain import MoodLevel
from bot.languages import registry
from bot.learning.progress import progress_png
from bot.safety.crisis_screen import category_label, load_safety_policy
from bot.store import cases
from bot.store.engine import make_engine
from bot.store.retention import Retention, purge_periodically
from bot.store.retention import stop as stop_timer
from bot.store.sealing import Sealer, SealError
from bot.store.tables import (
    AuditEntry,
    Card,
    Case,
    CaseEvent,
    CheckIn,
    Counsellor,
    Flag,
    Person,
    utcnow,
)
from bot.texts import Texts

log = logging.getLogger(__name__)
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "ntt_console"
LOGIN_CSRF_COOKIE = "ntt_login_csrf"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
AUDIT_PAGE_ROWS = 300
STALE_FORM = "The form was out of date. Please try again."


@dataclass(frozen=True, slots=True)
class Login:
    """The counsellor behind a request's session cookie."""

    counsellor: Counsellor
    csrf: str


def _mood_label(level: int | None) -> str:
    if level is None:
        return "not assessed"
    return f"{level} ({MoodLevel(level).name.lower()} tendency)"


class ConsoleApp:
    def __init__(
        self,
        *,
        engine: Engine,
        sealer: Sealer,
        texts: Texts,
        policy: ConsolePolicy,
        retention_days: int,
        preview_chars: int,
        secure_cookies: bool = True,
        retention: Retention | None = None,
        category_label: Callable[[str], str] = lambda category: category.replace("_", " "),
    ) -> None:
        self._engine = engine
        self._category_label = category_label
        self._retention = retention or Retention(engine)
        self._sealer = sealer
        self._texts = texts
        self._policy = policy
        self._retention_days = retention_days
        self._preview_chars = preview_chars
        self._secure = secure_cookies
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True),
        )
        self._templates = Jinja2Templates(env=env)

    # -- plumbing ----------------------------------------------------------------------------
    def build(self) -> Starlette:
        return Starlette(
            lifespan=self._lifespan,
            routes=[
                Route("/login", self.login_page, methods=["GET"]),
                Route("/login", self.login, methods=["POST"]),
                Route("/logout", self.logout, methods=["POST"]),
                Route("/", self.queue_page, methods=["GET"]),
                Route("/cases/{case_id:int}", self.case_page, methods=["GET"]),
                Route("/cases/{case_id:int}/progress.png", self.progress_chart, methods=["GET"]),
                Route("/cases/{case_id:int}/{action:str}", self.case_action, methods=["POST"]),
                Route("/audit", self.audit_page, methods=["GET"]),
            ],
        )

    @asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """While the console runs, the retention timer deletes review text whose time is up
        (bot/store/retention.py), so the promise does not wait for someone to open the queue."""
        task = asyncio.create_task(purge_periodically(self._retention), name="retention")
        try:
            yield
        finally:
            await stop_timer(task)

    def _render(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> Response:
        response = self._templates.TemplateResponse(request, name, context, status_code=status_code)
        response.headers.update(SECURITY_HEADERS)
        return response

    def _cookie(self, response: Response, key: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            key,
            value,
            max_age=max_age,
            path="/",
            secure=self._secure,
            httponly=True,
            samesite="strict",
        )

    def _flag_text(self, session: Session, flag: Flag) -> str | None:
        if flag.sealed_text is None:
            return None
        try:
            return cases.open_flag_text(session=session, sealer=self._sealer, flag=flag)
        except SealError:
            return "(cannot be opened with this server's secret)"

    def _event_text(self, session: Session, case: Case, event: CaseEvent) -> str | None:
        if event.sealed_text is None:
            return None
        try:
            return cases.open_case_text(
                session=session, sealer=self._sealer, case=case, sealed=event.sealed_text
            )
        except SealError:
            return "(cannot be opened with this server's secret)"

    def _login_of(self, session: Session, request: Request) -> Login | None:
        found = session_for(session=session, token=request.cookies.get(SESSION_COOKIE))
        if found is None:
            return None
        row, counsellor = found
        return Login(counsellor=counsellor, csrf=row.csrf_token)

    @staticmethod
    def _to_login() -> Response:
        return RedirectResponse("/login", status_code=303)

    def _refused(self, request: Request, login: Login | None, reason: str, status: int) -> Response:
        return self._render(
            request, "refused.html", {"login": login, "reason": reason}, status_code=status
        )

    async def _with_login(
        self,
        request: Request,
        work: Callable[[Session, Login, FormData | None], Response],
        *,
        form: bool = False,
    ) -> Response:
        """Run `work` in the thread pool with the request's login, or send to the login page.
        A form is read first (async) and refused without the session's CSRF token."""
        data = await request.form() if form else None

        def run() -> Response:
            with Session(self._engine) as session:
                login = self._login_of(session, request)
                if login is None:
                    session.commit()  # an expired session row is deleted
                    return self._to_login()
                if data is not None and not csrf_ok(login.csrf, data.get("csrf")):
                    return self._refused(request, login, STALE_FORM, 403)
                response = work(session, login, data)
                session.commit()
                return response

        return await run_in_threadpool(run)

    # -- login and logout --------------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        return self._login_form(request, error=None, status=200)

    def _login_form(self, request: Request, error: str | None, status: int) -> Response:
        token = secrets.token_urlsafe(32)
        response = self._render(
            request, "login.html", {"login": None, "csrf": token, "error": error}, status
        )
        self._cookie(response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    async def login(self, request: Request) -> Response:
        data = await request.form()
        if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE) or "", data.get("csrf")):
            return self._login_form(request, STALE_FORM, 403)
        name = str(data.get("name") or "")
        password = str(data.get("password") or "")

        def run() -> tuple[LoginOutcome, str | None]:
            with Session(self._engine) as session:
                result = authenticate(
                    session=session, name=name, password=password, policy=self._policy
                )
                token = None
                if result.outcome is LoginOutcome.OK and result.counsellor_id is not None:
                    token, _row = start_session(
                        session=session, counsellor_id=result.counsellor_id, policy=self._policy
                    )
                    actions.audit(session, result.counsellor_id, "login", None)
                session.commit()
                return result.outcome, token

        outcome, token = await run_in_threadpool(run)
        if outcome is LoginOutcome.LOCKED:
            log.warning("console login refused: account locked")
            message = (
                "Too many failed attempts: this account is locked for "
                f"{self._policy.lockout_minutes} minutes."
            )
            return self._login_form(request, message, 429)
        if token is None:
            log.info("console login failed")
            return self._login_form(request, "That name and password do not match.", 401)
        response = RedirectResponse("/", status_code=303)
        self._cookie(response, SESSION_COOKIE, token, max_age=self._policy.session_hours * 3600)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    async def logout(self, request: Request) -> Response:
        def work(session: Session, login: Login, _data: FormData | None) -> Response:
            actions.audit(session, login.counsellor.id, "logout", None)
            end_session(session=session, token=request.cookies.get(SESSION_COOKIE))
            response = RedirectResponse("/login", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response

        return await self._with_login(request, work, form=True)

    # -- pages -------------------------------------------------------------------------------
    def _names(self, session: Session) -> dict[int, str]:
        return {c.id: c.name for c in session.exec(select(Counsellor)) if c.id is not None}

    async def queue_page(self, request: Request) -> Response:
        def work(session: Session, login: Login, _data: FormData | None) -> Response:
            cases.purge_expired_text(session=session)
            names = self._names(session)
            now = utcnow()
            rows = [
                {
                    "case": case,
                    "assignee": names.get(case.assignee_id or 0, ""),
                    "age": _age(now, aware(case.created_at)),
                }
                for case in cases.queue(session=session)
            ]
            context = {"login": login, "rows": rows, "counts": cases.counts(session=session)}
            return self._render(request, "queue.html", context)

        return await self._with_login(request, work)

    def _case_context(self, session: Session, login: Login, case: Case) -> dict[str, Any]:
        names = self._names(session)
        flags = session.exec(
            select(Flag).where(Flag.case_id == case.id).order_by(col(Flag.id))
        ).all()
        events = session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))
        ).all()
        card = session.get(Card, case.card_id) if case.card_id is not None else None
        person = session.get(Person, case.person_id) if case.person_id is not None else None
        return {
            "login": login,
            "case": case,
            "assignee": names.get(case.assignee_id or 0, ""),
            "mine": case.assignee_id == login.counsellor.id,
            "flags": [
                {
                    "flag": flag,
                    "text": self._flag_text(session, flag),
                    "categories": [self._category_label(c) for c in flag.categories],
                    "at": aware(flag.created_at),
                }
                for flag in flags
            ],
            "events": [
                {
                    "event": event,
                    "who": names.get(event.counsellor_id or 0, ""),
                    "text": self._event_text(session, case, event),
                    "at": aware(event.created_at),
                }
                for event in events
            ],
            "card": card,
            "mood": _mood_label(person.mood_level) if person is not None else None,
            "has_checkins": person is not None
            and session.exec(select(CheckIn.id).where(CheckIn.person_id == person.id)).first()
            is not None,
            "emotion": person.dominant_emotion if person is not None else None,
            "restriction_days": self._policy.restriction_days,
            "max_chars": self._policy.max_message_chars,
        }

    async def case_page(self, request: Request) -> Response:
        case_id = int(request.path_params["case_id"])

        def work(session: Session, login: Login, _data: FormData | None) -> Response:
            case = session.get(Case, case_id)
            if case is None:
                return self._refused(request, login, "There is no such case.", 404)
            actions.viewed(self._context(session, login), case)
            return self._render(request, "case.html", self._case_context(session, login, case))

        return await self._with_login(request, work)

    async def progress_chart(self, request: Request) -> Response:
        """The person's check-ins over time and their path of states (seed 1 §3.8), the same
        picture /progress sends them; drawn on request, never stored. Viewing it is audited."""
        case_id = int(request.path_params["case_id"])

        def work(session: Session, login: Login, _data: FormData | None) -> Response:
            case = session.get(Case, case_id)
            png = None
            if case is not None and case.person_id is not None:
                png = progress_png(session, self._sealer, case.person_id, self._texts, "en")
            if case is None or png is None:
                return self._refused(request, login, "There is no chart for this case.", 404)
            actions.audit(session, login.counsellor.id, "viewed_chart", case)
            return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

        return await self._with_login(request, work)

    def _context(self, session: Session, login: Login) -> actions.Context:
        return actions.Context(
            session=session,
            sealer=self._sealer,
            texts=self._texts,
            counsellor=login.counsellor,
            retention_days=self._retention_days,
            preview_chars=self._preview_chars,
        )

    async def case_action(self, request: Request) -> Response:
        case_id = int(request.path_params["case_id"])
        action = str(request.path_params["action"])

        def work(session: Session, login: Login, data: FormData | None) -> Response:
            assert data is not None
            case = session.get(Case, case_id)
            if case is None:
                return self._refused(request, login, "There is no such case.", 404)
            ctx = self._context(session, login)
            text = str(data.get("text") or "")
            if len(text) > self._policy.max_message_chars:
                return self._refused(request, login, "That text is too long.", 400)
            handlers: dict[str, Callable[[], object]] = {
                "take": lambda: actions.take(ctx, case),
                "resolve": lambda: actions.resolve(ctx, case, text),
                "message": lambda: actions.message(ctx, case, text),
                "approve": lambda: actions.approve(
                    ctx, case, allow_vulnerable=data.get("allow_vulnerable") == "yes"
                ),
                "reject": lambda: actions.reject(ctx, case),
                "link": lambda: actions.link(ctx, case, text),
                "hide": lambda: actions.hide(ctx, case),
                "restrict": lambda: actions.restrict(
                    ctx,
                    case,
                    what=str(data.get("what") or ""),
                    days=_int(data.get("days")),
                    allowed_days=self._policy.restriction_days,
                ),
            }
            handler = handlers.get(action)
            if handler is None:
                return self._refused(request, login, "There is no such action.", 404)
            try:
                handler()
            except actions.ActionRefused as refused:
                session.rollback()
                return self._refused(request, login, str(refused), 409)
            return RedirectResponse(f"/cases/{case_id}", status_code=303)

        return await self._with_login(request, work, form=True)

    async def audit_page(self, request: Request) -> Response:
        def work(session: Session, login: Login, _data: FormData | None) -> Response:
            actions.audit(session, login.counsellor.id, "view_audit", None)
            names = self._names(session)
            pseudonyms = {c.id: c.pseudonym for c in session.exec(select(Case))}
            entries = session.exec(
                select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(AUDIT_PAGE_ROWS)
            ).all()
            rows = [
                {
                    "entry": entry,
                    "who": names.get(entry.counsellor_id or 0, "(deleted account)"),
                    "case": pseudonyms.get(entry.case_id, "") if entry.case_id else "",
                    "at": aware(entry.created_at),
                }
                for entry in entries
            ]
            return self._render(request, "audit.html", {"login": login, "rows": rows})

        return await self._with_login(request, work)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _age(now: datetime, then: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    secure_cookies: bool = True,
    retention: Retention | None = None,
) -> Starlette:
    """The console for this deployment's database and secret (the bot's own, so the console
    reads what the bot sealed and the bot delivers what the console queues). `retention`: the
    timer's clock and interval (tests pass their own)."""
    safety = load_safety_policy(settings.policies_dir / "safety.yaml")
    # Flags' categories as counsellors read them, in the default language's words.
    language = registry().default
    return ConsoleApp(
        category_label=lambda category: category_label(safety, category, language, language),
        retention=retention,
        engine=engine or make_engine(settings.database_url),
        sealer=Sealer(settings.secret_key.get_secret_value()),
        texts=Texts(settings.prompts_dir),
        policy=load_console_policy(settings.policies_dir / "console.yaml"),
        retention_days=safety.case_retention_days,
        preview_chars=load_cards_policy(settings.policies_dir / "cards.yaml").preview_chars,
        secure_cookies=secure_cookies,
    ).build()
