"""Run a local Hardhat 2 node (`hardhat node`): a second EVM implementation beside Anvil.

Hardhat binds its port itself and takes no listening socket, so the launcher picks a free port, retries on
another when the bind fails, and accepts the node only once the child is alive, its own log says it listens
on that port and the port answers `eth_chainId` with the chain id it was started with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx

from ledger.anvil import free_port, interrupt
from ledger.toolchain import DEFAULT_TOOLCHAIN_DIR, REPO_ROOT, ToolchainError

HARDHAT_CONFIG = REPO_ROOT / "toolchain" / "hardhat.config.js"
HARDHAT_CLI = Path("node_modules") / "hardhat" / "internal" / "cli" / "cli.js"
LISTENING = "Started HTTP and WebSocket JSON-RPC server at http://127.0.0.1:{port}/"


def find_hardhat(toolchain_dir: Path = DEFAULT_TOOLCHAIN_DIR) -> Path:
    """The Hardhat CLI script installed into `.toolchain/` by `make setup` (run with `node`)."""
    cli = toolchain_dir / HARDHAT_CLI
    if not cli.is_file() or shutil.which("node") is None:
        raise ToolchainError(f"Hardhat not found at {cli} (or node is not on PATH): run `make setup`")
    return cli


class Hardhat:
    """A Hardhat node child process on 127.0.0.1. Use as a context manager or call start()/stop().

    `block_time` 0 mines one block per transaction (automine); otherwise a block every that many seconds.
    `hardfork` picks the EVM (e.g. "paris" for a chain without PUSH0)."""

    def __init__(self, log_file: Path, chain_id: int = 31337, hardfork: str = "cancun", block_time: float = 0,
                 toolchain_dir: Path = DEFAULT_TOOLCHAIN_DIR) -> None:
        self.cli = find_hardhat(toolchain_dir)
        self.toolchain_dir = toolchain_dir
        self.chain_id, self.hardfork, self.block_time = chain_id, hardfork, block_time
        self.log_file = log_file
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0, attempts: int = 3) -> Hardhat:
        """Start the node and wait until it is ready; a port taken meanwhile is retried on another."""
        for _ in range(attempts):
            self.port = free_port()
            if self._launch(timeout):
                return self
        raise RuntimeError(f"Hardhat node did not start: {self._log_tail()}")

    def _launch(self, timeout: float) -> bool:
        """One try on `self.port`: True when ready, False when the child exited (e.g. the port was taken)."""
        env = {**os.environ, "PROVEX_HARDHAT_CHAIN_ID": str(self.chain_id),
               "PROVEX_HARDHAT_HARDFORK": self.hardfork, "PROVEX_HARDHAT_BLOCK_TIME": f"{self.block_time:g}",
               "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.write_bytes(b"")
        with open(self.log_file, "ab") as out:
            self.proc = subprocess.Popen(
                ["node", str(self.cli), "--config", str(HARDHAT_CONFIG), "node", "--hostname", "127.0.0.1",
                 "--port", str(self.port)], cwd=self.toolchain_dir, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._ready():
                return True
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"Hardhat node on port {self.port} not ready within {timeout}s: {self._log_tail()}")

    def _ready(self) -> bool:
        """The child says it listens on our port and that port answers with our chain id."""
        if LISTENING.format(port=self.port) not in self.log_file.read_text(errors="replace"):
            return False
        try:
            r = httpx.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=2)
            return r.status_code == 200 and int(r.json()["result"], 16) == self.chain_id
        except (httpx.HTTPError, KeyError, ValueError):
            return False

    def _log_tail(self) -> str:
        return self.log_file.read_text(errors="replace")[-2000:] if self.log_file.is_file() else ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the node (SIGINT, then SIGKILL if it hangs)."""
        interrupt(self.proc, timeout)

    def __enter__(self) -> Hardhat:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
