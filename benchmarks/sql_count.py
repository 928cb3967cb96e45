"""Measurement only: run `needtotalk` (the same arguments) with every database round trip
counted and charged to what the worker was doing, for `benchmarks/load.py --count-sql`.

Why: on PostgreSQL an update's time is mostly round trips (each statement, each BEGIN and
COMMIT, each pool checkout's ping), and the shared machine's wall-clock figures move more than
the code does; counts and the thread's own CPU time per kind of work do not.

What is counted, per label (the work a thread was doing: a turn by what it answered, the inbox
store, a lane's lock and next row, the outbox claim, delivery records, the sweep):
  - calls: how many times the labelled work ran;
  - statements: SQL statements sent (SQLAlchemy's `before_cursor_execute`, executemany once;
    a psycopg pipeline once: it is one round trip);
  - begins / commits / rollbacks: transactions (on psycopg a BEGIN is one round trip of its own);
  - pings: a pooled connection pinged before use (one round trip; bot.store.engine);
  - connects: new connections opened (a PostgreSQL backend started: its fork and log-in);
  - cpu_ms: the thread's CPU time inside the labelled call (`time.thread_time`).
Statements run outside any labelled call are charged to "other". The counts are written as
JSON to $NEEDTOTALK_SQL_COUNT_DIR/sql-count-<pid>.json when the process exits.

    python benchmarks/sql_count.py run --webhook ...   (what load.py starts with --count-sql)
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.pool import Pool  # noqa: E402

FIELDS = (
    "calls",
    "statements",
    "begins",
    "commits",
    "rollbacks",
    "pings",
    "connects",
    "cpu_ms",
)
_counts: defaultdict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0.0))
_guard = threading.Lock()
_local = threading.local()


def _label() -> str:
    stack: list[str] = getattr(_local, "stack", [])
    return stack[-1] if stack else "other"


def _bump(name: str, by: float = 1.0, label: str | None = None) -> None:
    with _guard:
        _counts[label or _label()][name] += by


def labelled(label_of: Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, its database work charged to `label_of(*args)` (the outermost label wins:
    a turn's settle is the turn's)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stack: list[str] = _local.__dict__.setdefault("stack", [])
        if stack:  # nested: the outer call owns it
            return function(*args, **kwargs)
        label = label_of(*args, **kwargs)
        stack.append(label)
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            stack.pop()
            _bump("calls", label=label)
            _bump("cpu_ms", (time.thread_time() - started) * 1000, label=label)

    return wrapper


def _turn_label(_service: Any, inbound: Any, *_: Any, **__: Any) -> str:
    kind = getattr(inbound.kind, "value", str(inbound.kind))
    text = str(inbound.text or "")
    if kind == "command":
        return f"turn {text.split()[0] if text else '/'}"
    if kind == "choice":
        return f"turn {text.partition(':')[0]}:"
    return f"turn {kind}"


def install() -> None:
    from bot.conversation import ConversationService
    from bot.store.inbox import HeldLane, InboxStore
    from bot.store.outbox import OutboxStore

    def fixed(name: str) -> Callable[..., str]:
        return lambda *_args, **_kwargs: name

    ConversationService.handle = labelled(_turn_label, ConversationService.handle)  # type: ignore[method-assign]
    for name, label in (
        ("store", "inbox store"),
        ("next_in_lane", "inbox next_in_lane"),
        ("has_waiting", "inbox has_waiting"),
        ("finish", "inbox finish"),
        ("lanes_waiting", "sweep"),
        ("prune", "sweep"),
        ("recover_side_work", "sweep"),
    ):
        setattr(InboxStore, name, labelled(fixed(label), getattr(InboxStore, name)))
    for name, label in (
        ("due", "outbox claim"),
        ("delivered_many", "outbox delivered"),
        ("renew", "outbox renew"),
        ("progress", "outbox other"),
        ("failed", "outbox other"),
        ("release", "outbox other"),
    ):
        setattr(OutboxStore, name, labelled(fixed(label), getattr(OutboxStore, name)))

    lane_lock = InboxStore.lane_lock

    class _LabelledLock:
        """The lane lock's taking and letting go (around the turns it covers), labelled."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __enter__(self) -> Any:
            return labelled(fixed("inbox lane lock"), self._inner.__enter__)()

        def __exit__(self, *exc: Any) -> Any:
            stack: list[str] = _local.__dict__.setdefault("stack", [])
            stack.append("inbox lane lock")
            try:
                return self._inner.__exit__(*exc)
            finally:
                stack.pop()

    holding_lane = InboxStore.holding_lane
    InboxStore.lane_lock = lambda self, lane: _LabelledLock(lane_lock(self, lane))  # type: ignore[method-assign,assignment,misc]
    InboxStore.holding_lane = lambda self, *a, **k: _LabelledLock(holding_lane(self, *a, **k))  # type: ignore[method-assign,assignment,misc]
    HeldLane.next = labelled(fixed("inbox lane next"), HeldLane.next)  # type: ignore[method-assign]

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(*_: Any) -> None:
        _bump("statements")

    def sent(conn: Any) -> bool:
        """Whether a BEGIN, COMMIT or ROLLBACK goes to the server (not in autocommit)."""
        return conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"

    @event.listens_for(Engine, "begin")
    def _begin(conn: Any) -> None:
        if sent(conn):
            _bump("begins")

    @event.listens_for(Engine, "commit")
    def _commit(conn: Any) -> None:
        if sent(conn):
            _bump("commits")

    @event.listens_for(Engine, "rollback")
    def _rollback(conn: Any) -> None:
        if sent(conn):
            _bump("rollbacks")

    import psycopg

    pipeline = psycopg.Connection.pipeline

    @contextlib.contextmanager
    def counted_pipeline(self: Any) -> Iterator[Any]:
        """A pipeline is one round trip, counted as one statement, whatever it sends."""
        _bump("statements")
        with pipeline(self) as running:
            yield running

    psycopg.Connection.pipeline = counted_pipeline  # type: ignore[method-assign,assignment]

    @event.listens_for(Pool, "connect")
    def _connect(*_: Any) -> None:
        _bump("connects")

    from bot.store import engine as store_engine

    ping = store_engine.ping_when_idle

    def counting_pings(engine: Engine) -> None:
        do_ping = engine.dialect.do_ping

        def counted(dbapi_connection: Any) -> bool:
            _bump("pings")
            return bool(do_ping(dbapi_connection))

        engine.dialect.do_ping = counted  # type: ignore[method-assign]
        ping(engine)

    store_engine.ping_when_idle = counting_pings  # type: ignore[assignment]

    atexit.register(dump)


def dump() -> None:
    folder = Path(os.environ.get("NEEDTOTALK_SQL_COUNT_DIR", "."))
    with _guard:
        data = {label: dict(values) for label, values in _counts.items()}
    (folder / f"sql-count-{os.getpid()}.json").write_text(json.dumps(data, indent=1))


def merged(folder: Path) -> dict[str, dict[str, float]]:
    """Every worker's counts added up (load.py reads them after the workers stop)."""
    total: defaultdict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0.0))
    for path in sorted(folder.glob("sql-count-*.json")):
        for label, values in json.loads(path.read_text()).items():
            for name in FIELDS:
                total[label][name] += float(values.get(name, 0.0))
    return dict(total)


def report(counts: dict[str, dict[str, float]], updates: int) -> str:
    """A table: per label, each figure per call, and the round trips of all of it per update
    (statements + begins + commits + rollbacks + checkouts: an upper bound, a rollback with
    nothing open sends nothing)."""
    lines = [
        f"{'work':24} {'calls':>6} {'stmts':>6} {'begin':>6} {'commit':>6} {'rollbk':>6} "
        f"{'ping':>6} {'connect':>7} {'CPU ms':>7}   (per call)"
    ]
    trips = cpu = connects = 0.0
    for label in sorted(counts, key=lambda k: -counts[k]["statements"]):
        values = counts[label]
        calls = max(1.0, values["calls"])
        lines.append(
            f"{label:24} {int(values['calls']):6d} "
            + " ".join(
                f"{values[name] / calls:6.2f}"
                for name in ("statements", "begins", "commits", "rollbacks", "pings")
            )
            + f" {values['connects'] / calls:7.2f} {values['cpu_ms'] / calls:7.2f}"
        )
        trips += sum(
            values[name] for name in ("statements", "begins", "commits", "rollbacks", "pings")
        )
        connects += values["connects"]
        cpu += values["cpu_ms"]
    lines.append(
        f"round trips per update (upper bound) {trips / max(1, updates):.1f}; "
        f"connections opened {int(connects)}; "
        f"CPU in labelled work per update {cpu / max(1, updates):.2f} ms"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    install()
    from bot.cli import main

    sys.argv[0] = "needtotalk"
    code = main(sys.argv[1:])
    dump()
    raise SystemExit(code)
