"""Leadership of the chain work (registry.leadership): one holder at a time per database, handed over when
the holder lets go or its database connection dies; `provex worker` refuses a chain it cannot share."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.db import make_engine
from registry.leadership import FileLeadership, Leadership, PostgresLeadership, leadership_for
from tests.utils.server import BACKENDS, PG_URL, VENV_BIN


@pytest.fixture(params=BACKENDS)  # PostgreSQL when PROVEX_TEST_POSTGRES_URL names one (CI does)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = PG_URL if request.param == "postgres" else f"sqlite:///{tmp_path / 'provex.db'}"
    assert url
    eng = make_engine(url)
    yield eng
    eng.dispose()


def test_one_leader_at_a_time(engine: sa.Engine) -> None:
    first, second = leadership_for(engine), leadership_for(engine)
    assert first.try_acquire() and first.held()
    assert not second.try_acquire() and not second.held()
    first.release()
    assert not first.held()
    assert second.try_acquire() and second.held()
    assert not first.try_acquire()
    second.release()


def test_leader_whose_connection_dies_steps_down(engine: sa.Engine) -> None:
    """The server frees the lock with the connection: the old holder sees it lost, another takes over."""
    first, second = leadership_for(engine), leadership_for(engine)
    assert first.try_acquire()
    _kill_holder(engine, first)
    assert not first.held()
    assert second.try_acquire()
    second.release()


def _kill_holder(engine: sa.Engine, holder: Leadership) -> None:
    if isinstance(holder, PostgresLeadership):
        assert holder._conn is not None
        pid = holder._conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as conn:  # the server ends the holder's session, as when its host dies
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        return
    assert isinstance(holder, FileLeadership) and holder._fd is not None
    os.close(holder._fd)  # what the kernel does when the process dies
    holder._fd = None


def test_worker_needs_a_shared_chain(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
    env["PROVEX_HOME"] = str(tmp_path)
    out = subprocess.run([str(VENV_BIN / "provex"), "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "PROVEX_RPC_URL" in out.stderr and "Traceback" not in out.stderr
