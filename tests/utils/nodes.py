"""Real provider nodes for tests: synthetic provider data and `provex provider serve` processes; and the one
node each test server's own `provider` account serves its products with (`serving_provider`).

Listing needs a provider node that answers now (`registry.queries.serving`). Tests that list products without
running queries share one real node per server, started on first use and registered by the server's
`provider` account (about a second, once per server), rather than a node per product."""

from __future__ import annotations

import atexit
import csv
import json
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ledger.anvil import free_port
from tests.utils.common import repo_root
from tests.utils.server import VENV_BIN, Server

REGIONS = ["north", "south", "east", "west"]
COLUMNS: list[dict[str, Any]] = [
    {"name": "region", "type": "string", "group_by": True, "domain": REGIONS},
    {"name": "level", "type": "integer", "min": 1, "max": 3, "group_by": True, "domain": ["1", "2", "3"]},
    {"name": "age", "type": "integer", "min": 0, "max": 99},
    {"name": "income", "type": "number", "min": 0, "max": 1000},
]


@dataclass
class Node:
    node_id: str
    data: Path
    port: int
    proc: subprocess.Popen[bytes]
    public_key: str = ""
    policy_hash: str | None = None  # of the signed policy the node loaded, as it reports it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def write_data(path: Path, rows: int, seed: int) -> Path:
    """Synthetic rows within the declared bounds; incomes have two decimals, some are NULL."""
    rng = random.Random(seed)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["region", "level", "age", "income"])
        for _ in range(rows):
            income = "" if rng.random() < 0.1 else f"{rng.randint(0, 99999) / 100:.2f}"
            w.writerow([rng.choice(REGIONS), rng.randint(1, 3), rng.randint(0, 99), income])
    return path


def start_nodes(server: Server, files: dict[str, Path], workdir: Path,
                coordinator_key: str | None = None, ports: dict[str, int] | None = None) -> dict[str, Node]:
    """`provex provider serve --exchange <api>` per file (or `--coordinator-key`), on the given or free ports,
    with the policy in its key folder if there is one; waits until each answers GET /identity."""
    trust = ["--coordinator-key", coordinator_key] if coordinator_key else ["--exchange", server.url]
    nodes: dict[str, Node] = {}
    for node_id, data in files.items():
        port = (ports or {}).get(node_id) or free_port()
        proc = subprocess.Popen([str(VENV_BIN / "provex"), "provider", "serve", "--data", str(data), "--id", node_id,
                                 "--port", str(port), "--key-dir", str(workdir / f"keys-{node_id}"),
                                 *trust],
                                cwd=repo_root(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        nodes[node_id] = Node(node_id, data, port, proc)
    deadline = time.monotonic() + 60
    try:
        for node in nodes.values():
            assert node.proc.stdout is not None
            info = json.loads(node.proc.stdout.readline() or b"{}")
            node.public_key, node.policy_hash = info["public_key"], info.get("policy_hash")
            while True:
                try:
                    if httpx.get(node.url + "/identity", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or node.proc.poll() is not None:
                    raise RuntimeError(f"provider node {node.node_id} did not start")
                time.sleep(0.05)
    except BaseException:
        for node in nodes.values():
            node.kill()
        raise
    return nodes


SERVING_NODE = "serving-provider"
_SERVING: dict[str, Node] = {}


def serving_provider(server: Server) -> str:
    """The server's `provider` account id, with a live node registered (started once per server, stopped at
    exit)."""
    if server.url not in _SERVING:
        workdir = server.home / "serving-node"
        workdir.mkdir(parents=True, exist_ok=True)
        data = write_data(workdir / "serving.csv", 40, seed=1)
        node = start_nodes(server, {SERVING_NODE: data}, workdir)[SERVING_NODE]
        atexit.register(node.kill)
        _SERVING[server.url] = node
        with server.client("provider") as c:
            r = c.post("/providers/me/node", json={"node_id": node.node_id,
                                                   "url": node.url, "public_key": node.public_key,
                                                   "policy_hash": node.policy_hash})
            assert r.status_code == 201, r.text
    return server.ids["provider"]
