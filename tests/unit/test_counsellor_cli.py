"""`needtotalk counsellor add` and `needtotalk console`, through the real entry point in a
child process, as a person runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import Session, select

from bot.console.auth import LoginOutcome, authenticate
from bot.console.policy import load_console_policy
from bot.store.engine import make_engine
from bot.store.tables import Counsellor

ROOT = Path(__file__).resolve().parents[2]


def run_cli(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "NEEDTOTALK_ENV": "test"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_counsellor_add_reads_the_password_twice_and_stores_only_a_hash(
    database_url: str,
) -> None:
    password = "a long and good password"
    differ = run_cli(database_url, "counsellor", "add", "ana", stdin=f"{password}\nsomething\n")
    assert differ.returncode == 1 and "differ" in differ.stderr
    short = run_cli(database_url, "counsellor", "add", "ana", stdin="short\nshort\n")
    assert short.returncode == 1 and "at least" in short.stderr
    made = run_cli(database_url, "counsellor", "add", "ana", stdin=f"{password}\n{password}\n")
    assert made.returncode == 0, made.stderr
    again = run_cli(database_url, "counsellor", "add", "ana", stdin=f"{password}\n{password}\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    engine = make_engine(database_url)
    policy = load_console_policy(ROOT / "policies" / "console.yaml")
    with Session(engine) as session:
        [row] = session.exec(select(Counsellor)).all()
        assert row.password_hash.startswith("$argon2id$") and password not in row.password_hash
        result = authenticate(session=session, name="ana", password=password, policy=policy)
    engine.dispose()
    assert result.outcome is LoginOutcome.OK


def test_the_console_command_serves_the_login_page_on_the_given_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}",
        "NEEDTOTALK_ENV": "test",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=False)
                break
            except httpx.TransportError:
                assert child.poll() is None, child.stderr.read() if child.stderr else ""
                assert time.monotonic() < deadline, "the console did not start"
                time.sleep(0.2)
        assert response.status_code == 303 and response.headers["location"] == "/login"
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert login.status_code == 200 and "Counsellor sign-in" in login.text
    finally:
        child.terminate()
        child.wait(timeout=20)
        if child.stderr is not None:
            child.stderr.close()
