"""The README's five-minute tour, run verbatim in a shell against the live demo (whose preferred port another
server holds: the commands must find the demo's API and chain on the ports it got)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.utils.common import repo_root
from tests.utils.demo import LiveDemo


def tour_block() -> str:
    """The README's shell block that starts with sourcing the demo's env.sh."""
    readme = (repo_root() / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    return next(b for b in blocks if b.startswith(". .provex/demo/env.sh"))


def test_the_readmes_tour_runs_verbatim(live_demo: LiveDemo, tmp_path: Path) -> None:
    # a checkout's layout: .venv and .provex (the demo's home) beside where the commands run
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / ".provex").symlink_to(live_demo.run.home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
    env["COLUMNS"] = "200"
    out = subprocess.run(["bash", "-e", "-x", "-c", tour_block()], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600, stdin=subprocess.DEVNULL)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-6000:]
    assert "Traceback" not in text
    assert live_demo.run.state["ids"]["code_livestock"] in out.stdout  # products list
    assert out.stdout.count("OK") >= 5, out.stdout[-4000:]  # each verify
    assert (tmp_path / "audit" / "records.jsonl").stat().st_size > 0 and (tmp_path / "trust.json").exists()
