"""Running the real demo for the demo tests: `provex demo` runs and their results, starting and stopping it,
the processes it left. Screenshots go to artifacts/screenshots/ (CI keeps that folder)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.utils.common import repo_root

PROVEX = str(Path(sys.executable).parent / "provex")
SCREENSHOTS = repo_root() / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("PROVEX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@dataclass
class DemoRun:
    home: Path
    env: dict[str, str]
    output: str
    returncode: int
    seconds: float

    @property
    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.home / "demo" / "state.json").read_text())
        return data

    def key(self, who: str) -> str:
        return str(self.state["accounts"][who]["api_key"])


def demo_env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
    env.update(PROVEX_HOME=str(home), PROVEX_API_PORT=str(port), COLUMNS="200", PROVEX_ANCHOR_MAX_AGE="1")
    return env


def start_demo(env: dict[str, str], timeout: float = 120) -> tuple[subprocess.Popen[str], str, list[str]]:
    """`provex demo` serving; returns the process, the portal URL and the lines it printed."""
    proc = subprocess.Popen([PROVEX, "demo"], env=env, cwd=repo_root(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    url = ""
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"Portal: (http://\S+?)/\s", line)
        if m:
            url = m.group(1)
        if line.lstrip().startswith("Serving;"):  # the line, not a word in the summary (NoServingNode)
            break
        if time.monotonic() > deadline:
            break
    if not url or proc.poll() is not None:
        proc.kill()
        raise RuntimeError("provex demo did not come up:\n" + "".join(lines[-40:]))
    return proc, url, lines


def stop_demo(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """Ctrl-C, as a person would; returns the rest of its output."""
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=timeout)
    return out or ""


@dataclass
class LiveDemo:
    url: str
    run: DemoRun
    startup: list[str]
    proc: subprocess.Popen[str]

    def key(self, who: str) -> str:
        return self.run.key(who)


def processes_of(home: Path) -> list[int]:
    """Pids of every process whose command line or environment names `home` (API, nodes, Anvil)."""
    needle = str(home).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in blob:
            found.append(int(entry.name))
    return found


class _Impostor(BaseHTTPRequestHandler):
    """Answers every GET with 200 and a body like the API's `/health`, as another Provex on the port would."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "chain": "up", "registry": "0x" + "11" * 20}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def start_impostor() -> ThreadingHTTPServer:
    """Another server on a free port of 127.0.0.1 answering `/health` with 200 JSON (`.shutdown()`,
    `.server_close()` to stop); its port is `.server_address[1]`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
