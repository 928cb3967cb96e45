"""Shared fixtures: a database per test, over SQLite and PostgreSQL, and Settings built for it.

PostgreSQL runs on 127.0.0.1:5432 (trust auth, database `test`) on every dev and CI machine.
Each test gets its own schema there (search_path set through the connection options), so tests
never see each other's rows and nothing has to be cleaned up by hand.

Each test's database starts migrated to the head: the migrations run once per session into a
template (by `bot.store.engine.upgrade`, never by hand, so a new migration is in it at once),
and each test gets a copy of it: the SQLite file copied, or on PostgreSQL the template schema's
`pg_dump` replayed into the test's schema. Running all the migrations for every test took
1-1.5 s on SQLite and more on PostgreSQL, most of a typical test. `build_services` still calls
`upgrade`, which finds the schema current. A test of the migrations themselves (one that
starts from an older revision, or from no tables at all) says `@pytest.mark.empty_database`
and gets an empty database, as before.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.services import Services, build_services
from bot.store.engine import make_engine, upgrade

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TEST_SECRET = "test-secret-key-0123456789abcdef"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "empty_database: the test's database starts with no tables (tests of the migrations)",
    )


def _schema_url(schema: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


def _migrated(url: str) -> None:
    engine = make_engine(url)
    try:
        # The secret re-seals stored values (0009); an empty database has none.
        upgrade(engine, secret=TEST_SECRET)
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:  # everything in the file, none in the WAL
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the head, built once per session."""
    path = tmp_path_factory.mktemp("template") / "needtotalk.db"
    _migrated(f"sqlite:///{path}")
    return path


class MigratedSchemas:
    """PostgreSQL schemas migrated to the head, one per test. The first is migrated (the
    template); the others are its `pg_dump` replayed under another name (0.4-0.6 s: the server's
    DDL), or, once a test is done with one, the same schema with its rows deleted. A schema is
    reused only when its tables, columns, defaults, constraints, indexes, triggers, functions and
    sequences are still the template's (a test may have changed them: it is dropped then), and
    it is renamed for every test, so a name (and the advisory locks keyed by it) is never used
    twice and a connection a test left open cannot reach the next test's rows."""

    def __init__(self) -> None:
        self.template = f"template_{uuid.uuid4().hex}"  # unique: replaced in the dump's text
        self.free: list[str] = []
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.template}"')
            server_major = conn.info.server_version // 10000
        _migrated(_schema_url(self.template))
        self.dump = _pg_dump(self.template, server_major)
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            self.fingerprint = _fingerprint(conn, self.template)
            self.versions = conn.execute(
                f'SELECT version_num FROM "{self.template}".alembic_version'
            ).fetchall()
            self.sequences = conn.execute(
                "SELECT sequencename, start_value, last_value FROM pg_sequences"
                " WHERE schemaname = %s",
                (self.template,),
            ).fetchall()
            # Rows the migrations wrote elsewhere would have to be restored: then no reuse.
            self.reusable = all(
                conn.execute(f'SELECT count(*) FROM "{self.template}"."{table}"').fetchone() == (0,)
                for table in _tables(conn, self.template)
                if table != "alembic_version"
            )

    def take(self) -> str:
        """A schema at the head under a new name, for one test."""
        schema = f"t_db_{uuid.uuid4().hex[:10]}"
        spare = self.free.pop() if self.free else None
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            if spare is not None:
                conn.execute(f'ALTER SCHEMA "{spare}" RENAME TO "{schema}"')
            elif self.dump is not None:
                # One statement list, run as one transaction; it creates the schema itself.
                conn.execute(self.dump.replace(self.template, schema).encode())
            else:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        if spare is None and self.dump is None:
            _migrated(_schema_url(schema))  # no usable pg_dump here: this schema migrates
        return schema

    def give_back(self, schema: str) -> None:
        """Keep the schema for another test if it is still the template's, emptied; else drop
        it."""
        spare = f"spare_{uuid.uuid4().hex[:10]}"
        try:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                if not self.reusable:
                    raise LookupError("the template has rows")
                conn.execute("SET lock_timeout = '5s'")
                conn.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{spare}"')
                schema = spare
                if _fingerprint(conn, spare) != self.fingerprint:
                    raise LookupError("the test changed the schema")
                with conn.transaction():
                    conn.execute("SET LOCAL session_replication_role = replica")  # FKs: any order
                    for table in _tables(conn, spare):
                        conn.execute(f'DELETE FROM "{spare}"."{table}"')
                    for (version,) in self.versions:
                        conn.execute(
                            f'INSERT INTO "{spare}".alembic_version VALUES (%s)', (version,)
                        )
                    for name, start, last in self.sequences:
                        conn.execute(
                            "SELECT setval(%s::regclass, %s, %s)",
                            (
                                f'"{spare}"."{name}"',
                                start if last is None else last,
                                last is not None,
                            ),
                        )
            self.free.append(spare)
        except (LookupError, psycopg.Error):
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def close(self) -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            for schema in [self.template, *self.free]:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    return sorted(row[0] for row in rows)


_FINGERPRINT = """
SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(a.attname, '') || ' '
       || coalesce(format_type(a.atttypid, a.atttypmod), '') || ' '
       || coalesce(a.attnotnull, false)::text
       || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE n.nspname = %(schema)s
UNION ALL
SELECT 'con ' || o.conname || ' ' || pg_get_constraintdef(o.oid)
  FROM pg_constraint o JOIN pg_namespace n ON n.oid = o.connamespace WHERE n.nspname = %(schema)s
UNION ALL
SELECT 'idx ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = %(schema)s
UNION ALL
SELECT 'trg ' || t.tgname || ' ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s AND NOT t.tgisinternal
UNION ALL
SELECT 'fn ' || p.oid::regprocedure::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(schema)s
UNION ALL
SELECT 'seq ' || sequencename || ' ' || data_type || ' ' || start_value || ' ' || min_value
       || ' ' || max_value || ' ' || increment_by || ' ' || cycle::text
  FROM pg_sequences WHERE schemaname = %(schema)s
UNION ALL
SELECT 'typ ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = %(schema)s
"""


def _fingerprint(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """What the schema is made of, its own name left out."""
    rows = conn.execute(_FINGERPRINT, {"schema": schema}).fetchall()
    return sorted(row[0].replace(schema, "@") for row in rows)


@pytest.fixture(scope="session")
def migrated_schemas() -> Iterator[MigratedSchemas]:
    schemas = MigratedSchemas()
    try:
        yield schemas
    finally:
        schemas.close()


_DUMP_OPTIONS = ("--no-owner", "--no-privileges", "--inserts")


def _pg_dump(schema: str, server_major: int) -> str | None:
    """The schema's tables, sequences, indexes, constraints and rows (alembic_version's) as
    plain SQL, or None when pg_dump is missing or not the server's major version."""
    binary = shutil.which("pg_dump")
    if binary is None:
        return None
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    if not version.stdout.split()[-1].startswith(f"{server_major}."):
        return None
    done = subprocess.run(
        [binary, "--dbname", POSTGRES_ADMIN_URL, "--schema", schema, *_DUMP_OPTIONS],
        capture_output=True,
        text=True,
        check=True,
    )
    # Newer pg_dump releases bracket the dump in psql meta-commands (\restrict, \unrestrict):
    # not SQL, and nothing the replay needs.
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith("\\"))


def _postgres_url(tmp_name: str) -> Iterator[str]:
    schema = f"t_{tmp_name}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _schema_url(schema)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's own database, migrated to the head (see the module's docstring), or empty
    for a test marked `empty_database`."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        path = tmp_path / "needtotalk.db"
        if not empty:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    elif empty:
        yield from _postgres_url("db")
    else:
        schemas: MigratedSchemas = request.getfixturevalue("migrated_schemas")
        schema = schemas.take()
        try:
            yield _schema_url(schema)
        finally:
            schemas.give_back(schema)


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "NEEDTOTALK_ENV": "test",
        "NEEDTOTALK_SECRET_KEY": TEST_SECRET,
        "CHROMA_PATH": str(tmp_path / "chroma"),
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
        "TELEGRAM_BOT_TOKEN": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on this test's database, as it was handed over (migrated unless the test is
    marked `empty_database`); a test module may define its own `engine` instead."""
    built = make_engine(database_url)
    yield built
    built.dispose()


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """The whole core on this test's database (the integration tests' settings add a fake
    Telegram server)."""
    built = build_services(settings, channel="telegram")
    yield built
    built.close()
