"""The knowledge base against a real chromadb server (`chroma run`), as with CHROMA_HOST set."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.knowledge.knowledge_base import COLLECTION_NAME, KnowledgeBase, make_chroma_client

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A chromadb server on 127.0.0.1 (the `chroma` command installed with chromadb)."""
    executable = Path(sys.executable).with_name("chroma")
    command = str(executable) if executable.exists() else shutil.which("chroma")
    assert command, "the `chroma` command ships with chromadb; is the environment complete?"
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    process = subprocess.Popen(
        [command, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "chroma server exited"
            assert time.monotonic() < deadline, "chroma server did not start in 30 s"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_index_and_search_through_the_server(chroma_server: str, tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    (kb_dir / "coping/en").mkdir(parents=True)
    for name in ("en-coping-001", "en-coping-006", "en-coping-009"):
        shutil.copy(PROJECT_ROOT / "kb/coping/en" / f"{name}.md", kb_dir / "coping/en")
    local_path = tmp_path / "must-stay-unused"
    settings = Settings(kb_dir=kb_dir, chroma_host=chroma_server, chroma_path=str(local_path))

    report = KnowledgeBase(settings).index()
    assert sorted(report.added) == ["en-coping-001", "en-coping-006", "en-coping-009"]
    assert KnowledgeBase(settings).index().added == ()

    results = KnowledgeBase(settings).search("I can't sleep at night", "en", n=1)
    assert [c.id for c in results] == ["en-coping-006"]
    assert not local_path.exists()

    client = make_chroma_client(Settings(chroma_host=f"http://{chroma_server}"))
    assert client.get_collection(COLLECTION_NAME).count() == 3
