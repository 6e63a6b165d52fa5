"""Ctrl-C stops every process `provex demo` started (runs after the browser tests: it ends the live demo)."""

from __future__ import annotations

import time

from tests.utils.demo import LiveDemo, processes_of, stop_demo


def test_ctrl_c_stops_every_process(live_demo: LiveDemo) -> None:
    home = live_demo.run.home
    running = processes_of(home)
    assert len(running) >= 5, running  # provex demo, the API, Anvil and three provider nodes
    out = stop_demo(live_demo.proc)
    assert live_demo.proc.returncode in (0, 130), out
    deadline = time.monotonic() + 10
    while processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_of(home) == []
    assert (home / "anvil-state.json").stat().st_size > 0  # the chain's state was saved for the next run
