"""Bring up the chain side: embedded Anvil (or an external RPC), compiled and deployed contracts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.client import ChainClient, account_from_key
from ledger.compiler import Build, compile_contracts
from ledger.contracts import Ledger
from ledger.deploy import Deployment, ensure_deployed
from ledger.errors import ErrorDecoder
from ledger.toolchain import DEFAULT_TOOLCHAIN_DIR, REPO_ROOT


class ChainConfigError(ValueError):
    """The chain settings are inconsistent (e.g. an external RPC without a funded key)."""


@dataclass
class ChainConfig:
    """Chain settings, filled from the application's Settings."""

    home: Path
    rpc_url: str | None = None
    deployer_key: str | None = None
    anvil: str | None = None
    solc: str | None = None
    toolchain_dir: Path = DEFAULT_TOOLCHAIN_DIR
    contracts_dir: Path = field(default_factory=lambda: REPO_ROOT / "contracts")
    persist_state: bool = True
    rpc_timeout: float = 10.0
    build_cache: Path | None = None

    @property
    def manifest_path(self) -> Path:
        return self.home / "deployment.json"

    @property
    def build_dir(self) -> Path:
        return self.build_cache or self.home / "build"


class ChainRuntime:
    """Owns the Anvil process (embedded mode), the client, the build and the deployed contracts."""

    def __init__(self, config: ChainConfig) -> None:
        self.config = config
        self.anvil: Anvil | None = None
        self.build: Build | None = None
        self.ledger: Ledger | None = None
        self.deployer: LocalAccount | None = None
        self.fresh_deployment = False

    def start(self) -> ChainRuntime:
        """Compile (cached), start or attach to the chain, deploy or reuse the deployment."""
        cfg = self.config
        self.build = compile_contracts(cfg.contracts_dir, cfg.build_dir, cfg.solc, cfg.toolchain_dir)
        if cfg.rpc_url:
            if not cfg.deployer_key:
                raise ChainConfigError("PROVEX_RPC_URL needs PROVEX_DEPLOYER_KEY (a funded key)")
            url, key = cfg.rpc_url, cfg.deployer_key
        else:
            state = cfg.home / "anvil-state.json" if cfg.persist_state else None
            self.anvil = Anvil(cfg.anvil, state_file=state, log_file=cfg.home / "anvil.log")
            cfg.home.mkdir(parents=True, exist_ok=True)
            self.anvil.start()
            url, key = self.anvil.url, cfg.deployer_key or DEV_DEPLOYER_KEY
        decoder = ErrorDecoder([a.abi for a in self.build.artifacts.values()])
        client = ChainClient(url, decoder, timeout=cfg.rpc_timeout)
        self.deployer = account_from_key(key)
        manifest, self.fresh_deployment = ensure_deployed(client, self.build, self.deployer, cfg.manifest_path)
        self.ledger = Ledger(client, manifest, self.build)
        return self

    @property
    def rpc_url(self) -> str:
        assert self.ledger is not None
        return self.ledger.client.rpc_url

    @property
    def deployment(self) -> Deployment:
        assert self.ledger is not None
        return self.ledger.deployment

    def stop(self) -> None:
        if self.anvil is not None:
            self.anvil.stop()

    def __enter__(self) -> ChainRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
