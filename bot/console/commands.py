"""`needtotalk console` (the counsellor web console), `needtotalk counsellor add NAME` and
`needtotalk cases purge` (one pass of the retention timer, for cron or by hand)."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    console = subparsers.add_parser(
        "console", help="the counsellor web console (review cases, reach a person anonymously)"
    )
    console.add_argument("--host", default="127.0.0.1", help="address to listen on")
    console.add_argument("--port", type=int, default=8080, help="port to listen on")
    console.add_argument(
        "--plain-http-cookies",
        action="store_true",
        help="send cookies without the Secure flag (only for a browser that refuses Secure "
        "cookies over plain http on this machine; put TLS in front of any other use)",
    )
    console.set_defaults(handler=run_console)

    counsellor = subparsers.add_parser("counsellor", help="counsellor accounts for the console")
    actions = counsellor.add_subparsers(dest="counsellor_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", help="create an account; the password is read twice from the terminal or stdin"
    )
    add.add_argument("name")
    add.set_defaults(handler=run_add)

    case_commands = subparsers.add_parser("cases", help="counsellor cases")
    case_actions = case_commands.add_subparsers(
        dest="cases_command", metavar="ACTION", required=True
    )
    purge = case_actions.add_parser(
        "purge",
        help="delete the text kept for review of cases resolved longer ago than "
        "case_retention_days (policies/safety.yaml); the bot and the console also do it hourly",
    )
    purge.set_defaults(handler=run_purge)


def run_purge(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.engine import make_engine, upgrade
    from bot.store.retention import Retention

    engine = make_engine(settings.database_url)
    upgrade(engine)
    purged = Retention(engine).purge_due()
    print(f"review text deleted from {purged} resolved case(s)")
    return 0


def run_console(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.console.app import create_app
    from bot.store.engine import make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine, secret=settings.secret_key.get_secret_value())
    app = create_app(settings, engine=engine, secure_cookies=not args.plain_http_cookies)
    print(f"counsellor console on http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _read_password_twice() -> tuple[str, str]:
    if sys.stdin.isatty():
        return getpass.getpass("Password: "), getpass.getpass("Password again: ")
    first = sys.stdin.readline().rstrip("\r\n")
    second = sys.stdin.readline().rstrip("\r\n")
    return first, second


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import Session

    from bot.console.auth import AccountError, add_counsellor
    from bot.console.policy import load_console_policy
    from bot.store.engine import make_engine, upgrade

    password, again = _read_password_twice()
    if password != again:
        print("needtotalk: the two passwords differ; nothing was created", file=sys.stderr)
        return 1
    engine = make_engine(settings.database_url)
    upgrade(engine, secret=settings.secret_key.get_secret_value())
    policy = load_console_policy(settings.policies_dir / "console.yaml")
    with Session(engine) as session:
        try:
            add_counsellor(session=session, name=args.name, password=password, policy=policy)
        except AccountError as exc:
            print(f"needtotalk: {exc}", file=sys.stderr)
            return 1
        session.commit()
    print(f"counsellor {args.name.strip()!r} added")
    return 0
