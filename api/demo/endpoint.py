"""Where the demo's API answers: `<home>/demo/api.json` ({"api_url", "home", "pid"}, mode 0600), and the shell
variables the README's commands use: `<home>/demo/env.sh`.

`provex demo` writes `api.json` once its API answers (on whatever port it got) and removes it when it stops; the
CLI takes its `--api` default from it (after `--api` and PROVEX_API_URL), so commands work as written whatever port
the demo listens on. A file whose API process is gone is stale: ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from pathlib import Path

from ledger.rpc_file import pid_alive

API_FILE = Path("demo") / "api.json"
ENV_FILE = Path("demo") / "env.sh"


def publish(home: Path, api_url: str, pid: int) -> Path:
    """Write the API's URL and pid to `<home>/demo/api.json` (aside, then renamed into place)."""
    path = home / API_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".api.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"api_url": api_url, "home": str(home.resolve()), "pid": pid}, f)
    tmp.replace(path)
    return path


def running_api_url(home: Path) -> str | None:
    """The published API URL when its process still runs, else None."""
    try:
        data = json.loads((home / API_FILE).read_text())
        url, pid = str(data["api_url"]), int(data["pid"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return url if pid_alive(pid) else None


def withdraw(home: Path, pid: int) -> None:
    """Remove the file if it still names the API process `pid`."""
    path = home / API_FILE
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        if int(json.loads(path.read_text())["pid"]) == pid:
            path.unlink()


def default_api_url(home: Path) -> str:
    """The CLI's API: PROVEX_API_URL, else the demo's of this home while it runs, else port 8700."""
    return os.environ.get("PROVEX_API_URL") or running_api_url(home) or "http://127.0.0.1:8700"


def write_env(home: Path, values: dict[str, str]) -> Path:
    """`<home>/demo/env.sh` (mode 0600: it holds API keys): `export NAME=value` for each of `values`, for
    `. .provex/demo/env.sh` before the README's commands."""
    path = home / ENV_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# written by `provex demo` on each start; `. <this file>` sets what the README's commands use"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
