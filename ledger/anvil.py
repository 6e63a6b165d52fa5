"""Run a local Anvil node: free port on 127.0.0.1, readiness wait, optional state file."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx

from ledger.toolchain import find_anvil

# Anvil's well-known first dev account (mnemonic "test test ... junk"): dev chains only.
DEV_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_rpc(url: str, timeout: float = 20.0) -> None:
    """Block until `url` answers `eth_chainId`, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1)
            if r.status_code == 200 and "result" in r.json():
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no JSON-RPC answer from {url} within {timeout}s")
        time.sleep(0.05)


class Anvil:
    """An Anvil child process. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        anvil: str | None = None,
        port: int | None = None,
        state_file: Path | None = None,
        state_interval: int = 1,
        chain_id: int = 31337,
        log_file: Path | None = None,
    ) -> None:
        self.binary = find_anvil(anvil)
        self.port = port or free_port()
        self.state_file = state_file
        self.state_interval = state_interval
        self.chain_id = chain_id
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Anvil:
        """Start Anvil and wait until it answers JSON-RPC."""
        cmd = [
            str(self.binary), "--host", "127.0.0.1", "--port", str(self.port),
            "--chain-id", str(self.chain_id), "--silent",
        ]
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--state", str(self.state_file), "--state-interval", str(self.state_interval)]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_rpc(self.url, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Anvil gracefully (it dumps its state file on SIGINT), killing it if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """Stop Anvil abruptly (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
