"""Load: N simulated people against the real bot (`needtotalk run` subprocesses) through the
local Bot API server (tests/support/fake_bot_api.py, run in this process).

Each person plays /start, "I agree", up to ten pre-assessment answers (the first option each
time) and /help, waiting for the bot's answer before the next step, as a person does. By
default the next step follows the answer at once (a closed loop at saturation: the first-reply
latency is then about people / throughput, Little's law). `--think SECONDS` makes each person
pause before every step after their /start, as a person reads and types: an exponentially
distributed time with that mean, drawn from a generator seeded per person (`--seed`), so two
runs with the same options pause alike. Its figures are of a lighter load, not of saturation. With
`--workers 2` two webhook workers share one PostgreSQL schema and this process plays Telegram
and a load balancer: each update is posted to the workers in turn, and one that fails (a killed
worker) is posted to the other, as Telegram retries a webhook. `--kill` SIGKILLs a random worker
at a random moment (between 20 % and 60 % of the expected updates) and starts it again.

Printed: updates/s over the run, first-reply latency p50/p99 (an update posted until the first
message or edit for that chat), outbox latency (a reply's row created until delivered, from
the database), lost updates (a step that got no answer within --step-timeout, and inbox rows
never handled), duplicated replies (the same message twice in a row in one chat), duplicated
outbox deliveries (messages Telegram got minus outbox rows marked delivered), calls per update,
CPU per update (the workers', this process's and, on PostgreSQL, the database server's), and
the machine's load average before and after (other work shares the cores). `--count-sql` also
prints the workers' database round trips by kind of work (benchmarks/sql_count.py).

    PYTHONPATH=. python benchmarks/load.py --people 200 [--workers 2 --database postgres]
        [--kill] [--no-limiter] [--count-sql] [--think SECONDS [--seed N]]

Targets (issue 11): 0 lost and 0 duplicated with a kill, one and two workers; >= 25 updates/s
with the rate limiter, >= 100 without; first reply p99 <= 2 s at 200 people without it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from aiohttp import ClientSession, ClientTimeout, web
from sqlalchemy import create_engine, text

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks import sql_count  # noqa: E402
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "load-benchmark-secret-0123456789abcdef"
ANSWERS = 10


@dataclass
class Record:
    at: float
    text: str
    buttons: list[tuple[str, str]]
    edit: bool
    sent: Any  # the server's SentMessage (a press carries its raw form)


class CountingBotApi(FakeBotApi):
    """The local Bot API server, plus a per-chat queue of what the bot sent or edited (the
    harness's own waits scan every message on every call: too slow for thousands)."""

    def __init__(self) -> None:
        super().__init__()
        self.queues: defaultdict[int, asyncio.Queue[Record]] = defaultdict(asyncio.Queue)
        self.records: defaultdict[int, list[Record]] = defaultdict(list)
        self.message_calls = 0

    async def _dispatch(self, request: web.Request) -> web.Response:
        response = await super()._dispatch(request)
        method = request.match_info["method"].lower()
        if method in ("sendmessage", "editmessagetext", "sendphoto") and response.status == 200:
            self.message_calls += 1
            sent = self._sent[-1]
            record = Record(
                time.monotonic(), sent.text, sent.buttons, method == "editmessagetext", sent
            )
            self.records[sent.chat_id].append(record)
            self.queues[sent.chat_id].put_nowait(record)
        self.calls.clear()  # nothing reads them here; keep memory flat
        return response


@dataclass
class Tally:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    # The same, split: each person's /start (all arrive at once, each a new person) and the rest.
    starts: list[float] = field(default_factory=list)
    later: list[float] = field(default_factory=list)
    lost: int = 0


async def play(
    server: CountingBotApi,
    who: SimulatedPerson,
    tally: Tally,
    step_timeout: float,
    think: float = 0.0,
    seed: int = 0,
) -> None:
    queue = server.queues[who.id]
    pauses = random.Random(seed * 1_000_003 + who.id)

    async def step(act: Any, until: Any) -> Record | None:
        """Do `act`, then read records until one satisfies `until` (None: lost). After the
        /start, a pause of the person's thinking first (not counted in the latency)."""
        if think > 0 and past_start:
            await asyncio.sleep(pauses.expovariate(1.0 / think))
        started = time.monotonic()
        tally.sent += 1
        act()
        first = True
        while True:
            try:
                record = await asyncio.wait_for(queue.get(), step_timeout)
            except TimeoutError:
                tally.lost += 1
                return None
            if first:
                tally.latencies.append(record.at - started)
                (tally.later if past_start else tally.starts).append(record.at - started)
                first = False
            if until(record):
                return record

    past_start = False

    def has(prefix: str) -> Any:
        return lambda r: any(d.startswith(prefix) for _, d in r.buttons)

    welcome = await step(lambda: server.user_sends_command(who, "/start"), has("consent:"))
    past_start = True
    if welcome is None:
        return
    question = await step(
        lambda: server.user_presses_button(who, "consent:yes", welcome.sent),
        lambda r: bool(r.buttons),
    )
    for _ in range(ANSWERS):
        if question is None or not any(d.startswith("a:") for _, d in question.buttons):
            break
        data = next(d for _, d in question.buttons if d.startswith("a:"))
        pressed = question
        question = await step(
            lambda p=pressed, d=data: server.user_presses_button(who, d, p.sent),
            lambda r: bool(r.buttons) or "feel" in r.text.lower(),
        )
    await step(lambda: server.user_sends_command(who, "/help"), lambda r: True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _proc_stat(path: Path) -> tuple[str, list[str]] | None:
    """A process's name and the fields after it in its /proc stat file (None: it is gone)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    name, _, rest = text.partition(" (")[2].rpartition(") ")
    return name, rest.split()


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, all its threads), from /proc."""
    stat = _proc_stat(Path(f"/proc/{pid}/stat"))
    if stat is None:
        return 0.0
    fields = stat[1]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process so far, with the backends already gone (the
    postmaster's reaped children): the database's side of the round trips. Any other session
    using the server in the same window is counted too."""
    total = 0
    for path in Path("/proc").glob("[0-9]*/stat"):
        stat = _proc_stat(path)
        if stat is not None and stat[0].startswith("postgres"):
            total += sum(int(value) for value in stat[1][11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


class Worker:
    def __init__(
        self,
        env: dict[str, str],
        port: int | None,
        webhook_url: str | None,
        count_sql: bool = False,
    ) -> None:
        self.env, self.port, self.webhook_url = env, port, webhook_url
        self.count_sql = count_sql
        self.process: asyncio.subprocess.Process | None = None
        self.cpu_at_start = 0.0  # its CPU time when the run started (model loading before it)
        self.cpu_before = 0.0  # CPU time of its killed predecessors during the run

    def cpu(self) -> float:
        """CPU time spent since the run started (a restarted worker's loading included)."""
        now = cpu_seconds(self.process.pid) if self.process is not None else 0.0
        return self.cpu_before + now - self.cpu_at_start

    async def start(self, log: Path) -> None:
        if self.count_sql:  # the same command, its round trips counted (sql_count.py)
            args = [sys.executable, str(PROJECT_ROOT / "benchmarks" / "sql_count.py"), "run"]
        else:
            args = [sys.executable, "-m", "bot", "run"]
        if self.webhook_url is not None:
            args += ["--webhook", self.webhook_url, "--port", str(self.port)]
            args += ["--url-path", "telegram"]
        with log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *args, cwd=self.env["WORKDIR"], env=self.env, stdout=out, stderr=out
            )

    async def ready(self, server: CountingBotApi) -> None:
        while True:
            if self.port is not None:
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.close()
                    return
            elif server.commands:
                return
            await asyncio.sleep(0.5)

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.cpu_before = self.cpu()
            self.cpu_at_start = 0.0
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()


async def deliver(server: CountingBotApi, workers: list[Worker], stop: asyncio.Event) -> None:
    """Telegram's side of a webhook behind a load balancer: every queued update is posted to
    the workers in turn until one answers 200."""
    secret = webhook_secret()
    turn = 0
    limit = asyncio.Semaphore(40)  # Telegram's max_connections default
    async with ClientSession(timeout=ClientTimeout(total=30)) as session:

        async def post(update: dict[str, Any], first: int) -> None:
            async with limit:
                attempt = first
                while True:
                    worker = workers[attempt % len(workers)]
                    try:
                        async with session.post(
                            f"http://127.0.0.1:{worker.port}/telegram",
                            json=update,
                            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                        ) as response:
                            if response.status == 200:
                                return
                    except Exception:  # a killed worker: try the next one
                        pass
                    attempt += 1
                    await asyncio.sleep(0.2)

        tasks: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            while server._updates:
                update = server._updates.popleft()
                task = asyncio.create_task(post(update, turn))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                turn += 1
            await asyncio.sleep(0.005)
        for task in list(tasks):
            task.cancel()


def webhook_secret() -> str:
    from bot.channels.telegram.application import webhook_secret_token
    from bot.config import Settings

    settings = Settings(_env_file=None, NEEDTOTALK_SECRET_KEY=SECRET)  # type: ignore[call-arg]
    return webhook_secret_token(settings)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="needtotalk-load-"))
    schema = None
    if args.database == "postgres":
        schema = f"load_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        database_url = (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        )
    else:
        database_url = f"sqlite:///{work / 'load.db'}"
    load_before = os.getloadavg()
    try:
        async with CountingBotApi() as server:
            env = {
                **os.environ,
                "PYTHONPATH": str(PROJECT_ROOT),
                "WORKDIR": str(work),
                "TELEGRAM_BOT_TOKEN": server.token,
                "TELEGRAM_API_BASE_URL": server.base_url,
                "DATABASE_URL": database_url,
                "NEEDTOTALK_ENV": "test",
                "NEEDTOTALK_SECRET_KEY": SECRET,
                "CHROMA_PATH": str(work / "chroma"),
                "TELEGRAM_RATE_LIMIT": "false" if args.no_limiter else "true",
                "LOG_LEVEL": "WARNING",
                "NEEDTOTALK_SQL_COUNT_DIR": str(work),
            }
            webhook = args.workers > 1 or args.webhook
            workers = [
                Worker(
                    env,
                    free_port() if webhook else None,
                    "https://bot.example/telegram" if webhook else None,
                    args.count_sql,
                )
                for _ in range(args.workers)
            ]
            for worker in workers:  # one after the other: each loads the models
                await worker.start(work / "workers.log")
                await asyncio.wait_for(worker.ready(server), 600)
            print(f"workers up ({args.workers}, {'webhook' if webhook else 'polling'})")
            install_delivery_log(database_url)
            stop = asyncio.Event()
            delivery = asyncio.create_task(deliver(server, workers, stop)) if webhook else None
            people = [
                SimulatedPerson(id=9_000_000 + i, first_name=f"P{i}") for i in range(args.people)
            ]
            tally = Tally()
            expected = args.people * (ANSWERS + 3)
            kill_at = int(expected * random.uniform(0.2, 0.6)) if args.kill else -1
            killed = ""

            async def killer() -> None:
                nonlocal killed
                while tally.sent < kill_at:  # noqa: ASYNC110 - a threshold on a counter
                    await asyncio.sleep(0.01)
                victim = random.randrange(len(workers))
                workers[victim].kill()
                killed = f"worker {victim} SIGKILLed after {tally.sent} updates, restarted"
                await workers[victim].process.wait()  # type: ignore[union-attr]
                await workers[victim].start(work / "workers.log")

            kill_task = asyncio.create_task(killer()) if args.kill else None
            for worker in workers:
                assert worker.process is not None
                worker.cpu_at_start = cpu_seconds(worker.process.pid)
            driver_cpu = time.process_time()
            database_cpu = postgres_cpu_seconds()
            started = time.monotonic()
            await asyncio.gather(
                *(
                    play(server, who, tally, args.step_timeout, args.think, args.seed)
                    for who in people
                )
            )
            elapsed = time.monotonic() - started
            worker_cpu = sum(worker.cpu() for worker in workers)
            driver_cpu = time.process_time() - driver_cpu
            database_cpu = postgres_cpu_seconds() - database_cpu
            if kill_task is not None:
                await kill_task
            await asyncio.sleep(2.0)
            load_after = os.getloadavg()
            stop.set()
            if delivery is not None:
                await delivery
            stats = database_figures(database_url)
            for worker in workers:
                await worker.stop()
            sql_counts = sql_count.merged(work) if args.count_sql else {}
    finally:
        if schema is not None:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    duplicated_replies = 0
    for records in server.records.values():
        for earlier, later in itertools.pairwise(records):
            if (earlier.text, earlier.buttons) == (later.text, later.buttons) and not later.edit:
                duplicated_replies += 1
    duplicated_deliveries = server.message_calls - int(stats["delivered"])
    print(
        f"people {args.people}, workers {args.workers}, database {args.database}, "
        f"rate limiter {'off' if args.no_limiter else 'on'}"
        + (f", think {args.think:g} s (exponential mean, seed {args.seed})" if args.think else "")
        + (f", {killed}" if killed else "")
    )
    print(f"updates sent                 {tally.sent}")
    print(
        f"updates/s                    {tally.sent / elapsed:.1f}   (target >= 25 on, >= 100 off)"
    )
    print(
        f"first reply p50 / p99        {percentile(tally.latencies, 0.5):.2f} s / "
        f"{percentile(tally.latencies, 0.99):.2f} s   (target p99 <= 2 s at 200, limiter off)"
    )
    print(
        f"  /start p50 / p99           {percentile(tally.starts, 0.5):.2f} s / "
        f"{percentile(tally.starts, 0.99):.2f} s; later steps "
        f"{percentile(tally.later, 0.5):.2f} s / {percentile(tally.later, 0.99):.2f} s"
    )
    print(
        f"outbox latency p50/p99/max   {stats['outbox_p50']:.2f} / {stats['outbox_p99']:.2f} / "
        f"{stats['outbox_max']:.2f} s"
    )
    print(
        f"lost updates                 {tally.lost} unanswered, {stats['unhandled']} never handled"
    )
    print(f"set aside                    {int(stats['set_aside'])}")
    print(f"duplicated replies           {duplicated_replies}")
    print(f"duplicated outbox deliveries {duplicated_deliveries}")
    print(f"message calls per update     {server.message_calls / max(1, tally.sent):.2f}")
    per_update = 1000 / max(1, tally.sent)
    print(
        f"CPU per update               workers {worker_cpu * per_update:.1f} ms, this driver and "
        f"Bot API server {driver_cpu * per_update:.1f} ms ({worker_cpu / elapsed:.2f} and "
        f"{driver_cpu / elapsed:.2f} cores busy)"
    )
    if args.database == "postgres":
        print(
            f"  PostgreSQL server          {database_cpu * per_update:.1f} ms "
            f"({database_cpu / elapsed:.2f} cores busy; any other session's queries included)"
        )
    print(
        f"load average (1 min)         {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"({os.cpu_count()} cores)"
    )
    if args.count_sql:
        print("database round trips by work (measurement only: counting costs CPU)")
        print(sql_count.report(sql_counts, tally.sent))


def install_delivery_log(database_url: str) -> None:
    """Measurement only, in the benchmark's own throwaway database: the bot deletes an outbox
    row once it is delivered (a kept row would say who was sent what, and when), so a trigger
    copies each deleted row's id and times into `bench_delivery_log`. Rows deleted because
    they were given up or undeliverable are counted too; a healthy run has none."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE TABLE bench_delivery_log (outbox_id integer, person_id integer, "
                    "created_at timestamptz, deleted_at timestamptz DEFAULT clock_timestamp())"
                )
            )
            connection.execute(
                text(
                    "CREATE FUNCTION bench_log_delivery() RETURNS trigger AS $$ BEGIN "
                    "INSERT INTO bench_delivery_log (outbox_id, person_id, created_at) "
                    "VALUES (OLD.id, OLD.person_id, OLD.created_at); RETURN OLD; END; "
                    "$$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER bench_delivery AFTER DELETE ON outbox "
                    "FOR EACH ROW EXECUTE FUNCTION bench_log_delivery()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TABLE bench_delivery_log (outbox_id integer, person_id integer, "
                    "created_at text, deleted_at text)"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER bench_delivery AFTER DELETE ON outbox BEGIN "
                    "INSERT INTO bench_delivery_log VALUES (OLD.id, OLD.person_id, "
                    "OLD.created_at, strftime('%Y-%m-%d %H:%M:%f', 'now')); END"
                )
            )
    engine.dispose()


def database_figures(database_url: str) -> dict[str, float]:
    url = database_url.replace("postgresql+psycopg://", "postgresql+psycopg://")
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT created_at, deleted_at FROM bench_delivery_log WHERE person_id IS NOT NULL"
            )
        ).all()
        # Every row, not distinct ids: a row is deleted once, and SQLite gives a new row the id
        # of one deleted before it whenever the outbox has run empty (no AUTOINCREMENT).
        delivered = connection.execute(text("SELECT count(*) FROM bench_delivery_log")).scalar_one()
        unhandled = connection.execute(
            text("SELECT count(*) FROM inbox WHERE status = 'pending'")
        ).scalar_one()
        set_aside = connection.execute(
            text("SELECT count(*) FROM inbox WHERE status = 'set_aside'")
        ).scalar_one()
    engine.dispose()
    waits = [_seconds(d) - _seconds(c) for c, d in rows if c is not None and d is not None]
    return {
        "delivered": float(delivered),
        "unhandled": float(unhandled),
        "set_aside": float(set_aside),
        "outbox_p50": percentile(waits, 0.5),
        "outbox_p99": percentile(waits, 0.99),
        "outbox_max": max(waits) if waits else float("nan"),
    }


def _seconds(value: Any) -> float:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--webhook", action="store_true", help="one worker by webhook")
    parser.add_argument("--kill", action="store_true", help="SIGKILL a worker mid-run")
    parser.add_argument("--no-limiter", action="store_true", help="rate limiter off")
    parser.add_argument("--step-timeout", type=float, default=120.0)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean pause (s, exponential) before each step after /start; 0: none (saturation)",
    )
    parser.add_argument("--seed", type=int, default=11, help="seed of the think-time pauses")
    parser.add_argument(
        "--count-sql",
        action="store_true",
        help="count the workers' database round trips and CPU by kind of work "
        "(benchmarks/sql_count.py; slows them: not for throughput figures)",
    )
    args = parser.parse_args()
    if args.workers > 1 and args.database != "postgres":
        parser.error("--workers 2 needs --database postgres (SQLite runs one process)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
