"""`needtotalk db upgrade|current`: database migrations by hand (they also run on start)."""

from __future__ import annotations

import argparse

from bot.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = subparsers.add_parser("db", help="database migrations (Alembic)")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply migrations up to REVISION (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=run_upgrade)
    current = actions.add_parser("current", help="print the schema revision of DATABASE_URL")
    current.set_defaults(handler=run_current)


def run_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.engine import make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine, args.revision, secret=settings.secret_key.get_secret_value())
    print(f"database upgraded to {args.revision}")
    return 0


def run_current(_args: argparse.Namespace, settings: Settings) -> int:
    from alembic.runtime.migration import MigrationContext

    from bot.store.engine import make_engine

    with make_engine(settings.database_url).connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    print(revision or "(empty database)")
    return 0
