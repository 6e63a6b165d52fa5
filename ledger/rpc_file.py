"""Where a running chain answers: `<home>/chain-rpc.json` ({"rpc_url", "pid"}, mode 0600).

The chain runtime writes it once its chain is up (the embedded Anvil's URL and pid, or an external RPC's URL and
the runtime's own pid) and removes it when it stops, so other commands on this machine (`provex chain status`, the
demo's witness) find a chain whose port only that process knows. A file whose process is gone is stale: no chain.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RPC_FILE = "chain-rpc.json"


@dataclass(frozen=True)
class ChainEndpoint:
    """A chain's JSON-RPC URL and the process that keeps it running (the Anvil, or the runtime using an RPC)."""

    rpc_url: str
    pid: int

    @property
    def running(self) -> bool:
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists and is no zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):  # Linux: a dead child not yet reaped is no chain
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def publish(home: Path, endpoint: ChainEndpoint) -> Path:
    """Write `endpoint` to `<home>/chain-rpc.json` (aside, then renamed into place)."""
    path = home / RPC_FILE
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{RPC_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(endpoint), f)
    tmp.replace(path)
    return path


def read_endpoint(home: Path) -> ChainEndpoint | None:
    """The published endpoint, running or stale; None when there is none (or it is unreadable)."""
    try:
        data = json.loads((home / RPC_FILE).read_text())
        return ChainEndpoint(str(data["rpc_url"]), int(data["pid"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def running_endpoint(home: Path) -> ChainEndpoint | None:
    """The published endpoint when its process still runs."""
    endpoint = read_endpoint(home)
    return endpoint if endpoint is not None and endpoint.running else None


def withdraw(home: Path, endpoint: ChainEndpoint) -> None:
    """Remove the file if it still names `endpoint` (another runtime may have replaced it)."""
    if read_endpoint(home) == endpoint:
        with contextlib.suppress(FileNotFoundError):
            (home / RPC_FILE).unlink()
