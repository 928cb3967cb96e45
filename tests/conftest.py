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

import psycopg
import pytest

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


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str] | None]:
    """(schema name, SQL that rebuilds it) for a schema migrated to the head, built once per
    session; None without a pg_dump of the server's major version (each test then migrates)."""
    schema = f"template_{uuid.uuid4().hex}"  # unique: its name is replaced in the dump's text
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        server_major = conn.info.server_version // 10000
    try:
        _migrated(_schema_url(schema))
        dump = _pg_dump(schema, server_major)
        yield (schema, dump) if dump is not None else None
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


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


def _postgres_url(tmp_name: str, template: tuple[str, str] | None = None) -> Iterator[str]:
    schema = f"t_{tmp_name}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        if template is None:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        else:
            # One statement list, run as one transaction; it creates the schema itself.
            template_schema, dump = template
            conn.execute(dump.replace(template_schema, schema).encode())
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
    else:
        template = None if empty else request.getfixturevalue("postgres_template")
        for url in _postgres_url("db", template):
            if not empty and template is None:
                _migrated(url)  # no usable pg_dump here: this test's schema migrates
            yield url


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
def services(settings: Settings) -> Iterator[Services]:
    """The whole core on this test's database (the integration tests' settings add a fake
    Telegram server)."""
    built = build_services(settings, channel="telegram")
    yield built
    built.close()
