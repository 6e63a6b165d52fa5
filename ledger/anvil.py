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
# The addresses of Anvil's (and Hardhat's) ten default accounts: their keys are public knowledge, so a
# production setting that resolves to one of them is refused.
DEV_ADDRESSES = frozenset({
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f", "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
})


def is_dev_address(address: str) -> bool:
    """True for an address whose private key is one of Anvil's well-known dev keys."""
    return address.lower() in {a.lower() for a in DEV_ADDRESSES}


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
        block_time: float | None = None,
        hardfork: str | None = None,
    ) -> None:
        """`block_time` seals a block every that many seconds instead of one per transaction (as a
        consortium chain does); `hardfork` (e.g. "paris") runs an older EVM."""
        self.binary = find_anvil(anvil)
        self.port = port or free_port()
        self.state_file = state_file
        self.state_interval = state_interval
        self.chain_id = chain_id
        self.log_file = log_file
        self.block_time = block_time
        self.hardfork = hardfork
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
        if self.block_time is not None:
            cmd += ["--block-time", f"{self.block_time:g}"]
        if self.hardfork is not None:
            cmd += ["--hardfork", self.hardfork]
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
        interrupt(self.proc, timeout)

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


def interrupt(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """Stop a node process as Ctrl-C would (SIGINT: it saves what it keeps), then SIGKILL if it hangs."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
