"""A real demo for the demo tests: `provex demo --no-wait --fresh` once, then `provex demo` (reusing its state)
serving the portal for the browser tests (helpers in tests/utils/demo.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.utils.common import repo_root
from tests.utils.demo import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PROVEX,
    SCREENSHOTS,
    DemoRun,
    LiveDemo,
    demo_env,
    start_demo,
    start_impostor,
    stop_demo,
)


@pytest.fixture(scope="session")
def impostor() -> Iterator[int]:
    """Another server holding the demo's preferred port (PROVEX_API_PORT) for the whole session, answering
    `/health` with 200 JSON as another Provex would: both demo starts must serve elsewhere, as themselves."""
    server = start_impostor()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, impostor: int) -> DemoRun:
    """`provex demo --no-wait --fresh`, non-interactively, to the end, its preferred port taken."""
    home = tmp_path_factory.mktemp("demo-home")
    env = demo_env(home, impostor)
    started = time.monotonic()
    proc = subprocess.run([PROVEX, "demo", "--no-wait", "--fresh"], env=env, cwd=repo_root(), capture_output=True,
                          text=True, timeout=240, stdin=subprocess.DEVNULL)
    return DemoRun(home, env, proc.stdout + proc.stderr, proc.returncode, time.monotonic() - started)


@pytest.fixture(scope="session")
def live_demo(demo_run: DemoRun) -> Iterator[LiveDemo]:
    assert demo_run.returncode == 0, demo_run.output[-4000:]
    proc, url, lines = start_demo(demo_run.env)
    try:
        yield LiveDemo(url, demo_run, lines, proc)
    finally:
        if proc.poll() is None:
            stop_demo(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
