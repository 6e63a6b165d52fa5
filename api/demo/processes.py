"""Start and stop the demo's processes: the API (which owns Anvil), the provider nodes and the auditor's witness.

Children run in their own sessions, so Ctrl-C reaches only the supervisor, which then stops them in
order (nodes first, then the API, whose shutdown stops Anvil and saves its state). On Linux the
children also get SIGTERM if the supervisor dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api.node_policy import draft_policy
from ledger.anvil import free_port
from privacy.provider.policy import sign_policy, write_document
from privacy.secagg.crypto import load_or_create_identity

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def listening_socket(host: str, preferred: int, *, fallback: bool = True) -> socket.socket:
    """A socket bound to `host:preferred` and listening, or (when that port is taken) to a free port; without
    `fallback` a taken port raises OSError. The supervisor holds it from the start and hands it to the API
    (`uvicorn --fd`), so no other server can take the port between choosing and serving. Connections accepted on
    it inherit TCP_NODELAY: a socket handed to uvicorn does not get it (one it binds itself does), and without it
    every POST's answer waits ~40 ms behind the client's delayed ACK."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port left in TIME_WAIT by the last run
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, preferred))
    except OSError:
        if not fallback:
            sock.close()
            raise
        sock.bind((host, 0))
    sock.listen(128)  # listening: from here on no other process can bind the port
    return sock


def http_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    url: str
    log_from: int = 0  # where this run's output starts in its (appended) log


@dataclass
class Supervisor:
    """The processes `provex demo` started; `stop()` ends each of them, last started first."""

    logs: Path
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], url: str, env: dict[str, str] | None = None,
              pass_fds: tuple[int, ...] = ()) -> Child:
        """Start `argv` with the supervisor's environment (plus `env`) and `pass_fds`, its output appended to
        `<logs>/<name>.log`."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with open(log, "ab") as out:
            start = out.tell()
            proc = subprocess.Popen(argv, env={**self.env, **(env or {})}, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=pass_fds,
                                    preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        child = Child(name, proc, log, url, start)
        self.children.append(child)
        return child

    def wait_http(self, child: Child, path: str, timeout: float = 120.0,
                  tick: Callable[[], None] | None = None, expect: dict[str, Any] | None = None) -> None:
        """Wait until `child.url + path` answers 200 (with a JSON object holding `expect`, when given), or raise
        with the tail of its log. A 200 without `expect` is another server's answer: raise at once."""

        def up() -> bool:
            try:
                r = httpx.get(child.url + path, timeout=2)
            except httpx.HTTPError:
                return False
            if r.status_code != 200:
                return False
            if expect and not _holds(r, expect):
                raise RuntimeError(f"{child.url}{path} answered, but not as {child.name}: another server "
                                   f"listens there ({r.text[:200]!r})")
            return True

        self._wait(child, up, timeout, tick)

    def wait_output(self, child: Child, needle: str, timeout: float = 120.0,
                    tick: Callable[[], None] | None = None) -> None:
        """Wait until `child` printed `needle` in this run, or raise with the tail of its log."""
        self._wait(child, lambda: needle.encode() in child.log.read_bytes()[child.log_from:], timeout, tick)

    @staticmethod
    def _wait(child: Child, ready: Callable[[], bool], timeout: float, tick: Callable[[], None] | None) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if child.proc.poll() is not None or time.monotonic() > deadline:
                tail = child.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{child.name} did not start (see {child.log}):\n{tail}")
            if tick:
                tick()
            time.sleep(0.25)

    def start_chain(self) -> Child:
        """`provex chain up`: Anvil (its state kept in the home), the contracts deployed once, its RPC URL
        published in `<home>/chain-rpc.json` for the API, the worker and the README's commands."""
        return self.spawn("chain", [sys.executable, "-m", "api.cli", "chain", "up"], "")

    def start_worker(self) -> Child:
        """`provex worker`: the chain work (outbox dispatcher, anchoring) as the database's leader."""
        return self.spawn("worker", [sys.executable, "-m", "api.cli", "worker"], "")

    def start_api(self, sock: socket.socket, instance: str, workers: int = 1) -> Child:
        """The API (`workers` processes) serving on `sock` (inherited; the supervisor closes its own copy), with
        PROVEX_INSTANCE `instance`, which its `/health` echoes."""
        host, port = sock.getsockname()[:2]
        argv = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env", "--fd", str(sock.fileno()),
                "--workers", str(workers), "--log-level", "warning"]
        try:
            return self.spawn("api", argv, http_url(host, port), env={"PROVEX_INSTANCE": instance},
                              pass_fds=(sock.fileno(),))
        finally:
            sock.close()

    def start_provider(self, node_id: str, data: Path, key_dir: Path, coordinator_key: str,
                       policy: Path) -> Child:
        port = free_port()
        argv = [sys.executable, "-m", "api.cli", "provider", "serve", "--data", str(data), "--id", node_id,
                "--port", str(port), "--key-dir", str(key_dir), "--coordinator-key", coordinator_key,
                "--policy", str(policy)]
        return self.spawn(f"provider-{node_id}", argv, f"http://127.0.0.1:{port}")

    def start_witness(self, rpc_url: str, trust: Path, keystore: Path, key: str, passphrase: str, state: Path,
                      interval: float = 2.0) -> Child:
        """`provex witness` following the chain with `key` of `keystore` (its passphrase in its environment only)."""
        argv = [sys.executable, "-m", "api.cli", "witness", "--rpc", rpc_url, "--trust", str(trust), "--keystore",
                str(keystore), "--key", key, "--state", str(state), "--interval", str(interval)]
        return self.spawn("witness", argv, "", env={"PROVEX_KEYSTORE_PASSPHRASE": passphrase})

    def alive(self) -> list[str]:
        return [c.name for c in self.children if c.proc.poll() is None]

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM each child (newest first) and wait; SIGKILL what is still running after `timeout`."""
        for child in reversed(self.children):
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
                try:
                    child.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    child.proc.kill()
                    child.proc.wait(5)
        self.children.clear()


def _holds(r: httpx.Response, expect: dict[str, Any]) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return isinstance(body, dict) and all(body.get(k) == v for k, v in expect.items())


def provider_public_key(key_dir: Path) -> str:
    """The node's Ed25519 identity (hex) as its node wrote it."""
    return (key_dir / "identity.pub").read_text().strip()


def sign_node_policy(key_dir: Path, node_id: str, dataset: str, columns: list[dict[str, Any]],
                     personal: bool, verify: tuple[str, ...] = ()) -> tuple[Path, str]:
    """The node's own policy over the dataset's declared columns, signed with the node's key (created on
    first use) into `<key_dir>/policy.json`: noise required (at most ε 2 at δ 1e-6 per query from the node's
    own share) when the data is personal, groups of at least 10 rows, 1000 queries a day; the `verify` columns
    also allow verification calls. Path and hash."""
    policy = draft_policy(node_id, dataset, columns, max_epsilon=2.0 if personal else None,
                          min_group_size=10, daily_query_limit=1000, verify=verify)
    path = key_dir / "policy.json"
    write_document(path, sign_policy(policy, load_or_create_identity(key_dir)))
    return path, policy.hash()


def demo_env(home: Path, port: int) -> dict[str, str]:
    """The children's environment: the caller's, with the demo's home and port, dev mode and no minimum public
    notice (the story's approval sets a notice of a few seconds)."""
    env = dict(os.environ)
    env.update(PROVEX_HOME=str(home.resolve()), PROVEX_API_PORT=str(port), PROVEX_ENV="dev",
               PYTHONUNBUFFERED="1", PROVEX_NOTICE_DAYS="0")  # the story gives its notice a few seconds
    return env
