"""Fault drill: PostgreSQL restarts under load. Requests during the restart get 503 + Retry-After
(never a 500 or a hang); every accepted write is present afterwards; verification passes."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.anvil import DEV_DEPLOYER_KEY, Anvil, free_port
from ledger.runtime import ChainConfig, ChainRuntime
from tests.utils import server as api_server
from tests.utils.drills import Load, Stack, settle_and_verify


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    assert found, "PostgreSQL server binaries are installed by .ci/run (Debian package postgresql)"
    return found[-1]


def _as_postgres(*cmd: str) -> None:
    subprocess.run(["su", "postgres", "-c", " ".join(cmd)], check=True, capture_output=True, timeout=60)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL cluster of this test's own on a free port (it is restarted, so not the shared one)."""
    folder = Path(f"/tmp/provex-drill-{tmp_path.name}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o777)
    shutil.chown(folder, "postgres")
    port = free_port()
    pg = _pg_bin()
    _as_postgres(f"{pg}/initdb", "-D", f"{folder}/data", "-A", "trust", "-U", "postgres")
    start = (f"{pg}/pg_ctl", "-D", f"{folder}/data", "-w", "-l", f"{folder}/log", "-o",
             f"'-p {port} -k {folder} -c listen_addresses=127.0.0.1'")
    _as_postgres(*start, "start")
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", folder
    _as_postgres(f"{pg}/pg_ctl", "-D", f"{folder}/data", "-m", "immediate", "stop")
    shutil.rmtree(folder, ignore_errors=True)


def test_postgres_restart_mid_load(cluster: tuple[str, Path], tmp_path: Path, build_cache: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url, folder = cluster
    monkeypatch.setattr(api_server, "PG_URL", url)
    anvil = Anvil(state_file=tmp_path / "anvil-state.json").start()
    runtime = ChainRuntime(ChainConfig(home=tmp_path / "chain", rpc_url=anvil.url, deployer_key=DEV_DEPLOYER_KEY,
                                       build_cache=build_cache)).start()
    assert runtime.deployer is not None
    (tmp_path / "api").mkdir()
    server, _ = api_server.start_server("postgres", runtime, runtime.deployer, tmp_path / "api")
    stack = Stack(anvil, server, runtime)
    try:
        load = Load(server)
        worker = threading.Thread(target=load.run)
        worker.start()
        try:
            load.wait_for_more(2, "the load writes before the restart")
            _as_postgres(f"{_pg_bin()}/pg_ctl", "-D", f"{folder}/data", "-w", "-m", "fast", "restart",
                         "-l", f"{folder}/log")
            load.wait_for_more(3, "the load kept writing after the restart")
        finally:
            load.stop.set()
            worker.join(30)
        assert not load.bad, load.bad[:5]
        assert 503 in load.statuses, "requests met the restarting database and were told to retry"
        settle_and_verify(stack.server, load)
    finally:
        server.proc.terminate()
        server.proc.wait(10)
        anvil.stop()
