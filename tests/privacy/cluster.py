"""Real provider-node processes on free 127.0.0.1 ports, for tests and the benchmark."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from privacy.coordinator import ProviderEndpoint

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    id: str
    data: Path | str
    key_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    public_key: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, url: str | None = None) -> ProviderEndpoint:
        return ProviderEndpoint(self.id, url or self.url, self.public_key)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@dataclass
class Cluster:
    nodes: list[Node] = field(default_factory=list)

    def endpoints(self) -> list[ProviderEndpoint]:
        return [n.endpoint() for n in self.nodes]

    def stop(self) -> None:
        for n in self.nodes:
            n.kill()


def start_cluster(
    files: Sequence[Path | str],
    workdir: Path,
    coordinator_pubkey: str,
    extra_args: list[str] | None = None,
    timeout: float = 60.0,
    program: Sequence[str] = ("-m", "privacy.provider"),
    programs: dict[int, Sequence[str]] | None = None,
) -> Cluster:
    """Start one node per data file (or ``postgresql://...#table`` source), wait until each answers GET /identity.

    ``program`` is what the interpreter runs: the provider node, or a script taking its arguments;
    ``programs`` overrides it for some nodes (by index), e.g. a faulty test node."""
    cluster = Cluster()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for i, data in enumerate(files):
        node_id = f"p{i}"
        port = free_port()
        key_dir = workdir / f"keys-{node_id}"
        cmd = [
            sys.executable, *(programs or {}).get(i, program),
            *(["--source", data] if isinstance(data, str) else ["--data", str(data)]), "--id", node_id,
            "--port", str(port), "--key-dir", str(key_dir),
            "--coordinator-key", coordinator_pubkey, *(extra_args or []),
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        cluster.nodes.append(Node(node_id, data, key_dir, port, proc))
    deadline = time.time() + timeout
    try:
        for node in cluster.nodes:
            assert node.proc.stdout is not None
            info = json.loads(node.proc.stdout.readline() or b"{}")
            node.public_key = info["public_key"]
            while True:
                try:
                    r = httpx.get(node.url + "/identity", timeout=2)
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline or node.proc.poll() is not None:
                    raise RuntimeError(f"provider {node.id} did not start")
                time.sleep(0.05)
    except BaseException:
        cluster.stop()
        raise
    return cluster
