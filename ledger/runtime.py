"""Bring up the chain side: embedded Anvil (or an external RPC), compiled and deployed contracts.

Three keys of the exchange's take part, none holding another's power: the deployer only pays for
deployment (and, in dev, for other accounts' gas); governance administers every contract's roles;
the recorder anchors checkpoints. In dev, governance and recorder keys are generated under
`<home>/keys/` (encrypted with the key passphrase) unless settings name them. While up, the runtime publishes
its chain's RPC URL in `<home>/chain-rpc.json` (`ledger.rpc_file`) for other commands on this machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.client import ChainClient, account_from_key
from ledger.compiler import DEFAULT_EVM_VERSION, Build, compile_contracts
from ledger.contracts import EXCHANGE_ROLE, RECORDER_ROLE, Ledger
from ledger.deploy import Deployment, DeployPlan, ensure_deployed
from ledger.errors import ErrorDecoder
from ledger.keys import DEV_PASSPHRASE, Keyring, load_or_create_key
from ledger.locks import file_lock
from ledger.rpc_file import ChainEndpoint, publish, running_endpoint, withdraw
from ledger.toolchain import DEFAULT_TOOLCHAIN_DIR, REPO_ROOT

DEPLOY_LOCK = "deploy.lock"


class ChainConfigError(ValueError):
    """The chain settings are inconsistent (e.g. an external RPC without a funded key)."""


def dev_key_path(home: Path, name: str) -> Path:
    """Where the dev chain keeps its generated `name` key ("governance" or "recorder")."""
    return home / "keys" / f"{name}.json"


@dataclass
class ChainConfig:
    """Chain settings, filled from the application's Settings."""

    home: Path
    rpc_url: str | None = None
    deployer_key: str | None = None
    anvil: str | None = None
    solc: str | None = None
    evm_version: str = DEFAULT_EVM_VERSION
    toolchain_dir: Path = DEFAULT_TOOLCHAIN_DIR
    contracts_dir: Path = field(default_factory=lambda: REPO_ROOT / "contracts")
    persist_state: bool = True
    rpc_timeout: float = 10.0
    build_cache: Path | None = None
    governance_address: str | None = None
    recorder_key: str | None = None
    house_key: str | None = None
    settlement_token: str | None = None
    admin_delay: int = 0
    dev_keys: bool = True
    key_passphrase: str = DEV_PASSPHRASE
    scrypt_n: int = 2**14
    fund_wei: int = 10 * 10**18

    @property
    def manifest_path(self) -> Path:
        return self.home / "deployment.json"

    @property
    def build_dir(self) -> Path:
        return self.build_cache or self.home / "build"


class ChainRuntime:
    """Owns the Anvil process (embedded mode), the client, the build and the deployed contracts.

    `governance` is the governance key when this process holds it (dev); `governance_address` is
    set either way. `recorder` signs checkpoints.
    """

    def __init__(self, config: ChainConfig) -> None:
        self.config = config
        self.anvil: Anvil | None = None
        self.build: Build | None = None
        self.ledger: Ledger | None = None
        self.deployer: LocalAccount | None = None
        self.governance: LocalAccount | None = None
        self.house: LocalAccount | None = None
        self.minter: LocalAccount | None = None  # mints dev test fen (a dev key; never in production)
        self.governance_address: str | None = None
        self.recorder: LocalAccount | None = None
        self.fresh_deployment = False
        self.endpoint: ChainEndpoint | None = None

    def start(self) -> ChainRuntime:
        """Compile (cached), start or attach to the chain, deploy or reuse the deployment."""
        cfg = self.config
        self._resolve_keys()
        self.build = compile_contracts(cfg.contracts_dir, cfg.build_dir, cfg.solc, cfg.toolchain_dir,
                                       cfg.evm_version)
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
        assert self.governance_address is not None and self.recorder is not None
        plan = DeployPlan(self.governance_address, self.recorder.address, cfg.admin_delay, cfg.settlement_token,
                          minter=self.minter.address if self.minter is not None else None)
        try:
            # Processes starting together on one home (API workers, `provex worker`) deploy once: the first
            # deploys, the others wait here and find its manifest.
            with file_lock(cfg.home / DEPLOY_LOCK):
                manifest, self.fresh_deployment = ensure_deployed(client, self.build, self.deployer,
                                                                  cfg.manifest_path, plan)
                self.ledger = Ledger(client, manifest, self.build)
                self._check_roles()
                self._fund()
                self._house_role()
        except BaseException:
            self.stop()
            raise
        owner = running_endpoint(cfg.home)
        if self.anvil is not None or owner is None or owner.rpc_url != url:  # never replace the chain's own process
            pid = self.anvil.proc.pid if self.anvil is not None and self.anvil.proc is not None else os.getpid()
            self.endpoint = ChainEndpoint(url, pid)
            publish(cfg.home, self.endpoint)
        return self

    def _resolve_keys(self) -> None:
        cfg = self.config
        keyring = Keyring(cfg.key_passphrase, cfg.scrypt_n)
        if cfg.governance_address:
            self.governance_address = Web3.to_checksum_address(cfg.governance_address)
        elif cfg.dev_keys:
            self.governance = load_or_create_key(dev_key_path(cfg.home, "governance"), keyring)
            self.governance_address = self.governance.address
        else:
            raise ChainConfigError("no governance address: set PROVEX_GOVERNANCE_ADDRESS (a multisig or "
                                   "TimelockController)")
        if cfg.house_key:
            self.house = account_from_key(cfg.house_key)
        elif cfg.dev_keys:
            self.house = load_or_create_key(dev_key_path(cfg.home, "house"), keyring)
        if cfg.dev_keys and not cfg.settlement_token:
            self.minter = load_or_create_key(dev_key_path(cfg.home, "minter"), keyring)
        if cfg.recorder_key:
            self.recorder = account_from_key(cfg.recorder_key)
        elif cfg.dev_keys:
            self.recorder = load_or_create_key(dev_key_path(cfg.home, "recorder"), keyring)
        else:
            raise ChainConfigError("no recorder key: set PROVEX_RECORDER_KEY (a key of its own)")

    def _check_roles(self) -> None:
        """The deployment answers to the configured governance and recorder (they may have moved on chain)."""
        assert self.ledger is not None and self.recorder is not None
        for name in self.ledger.governed:
            admin = self.ledger.default_admin(name)
            if admin != self.governance_address:
                raise ChainConfigError(
                    f"{name} at {self.ledger.contracts[name].address} is administered by {admin}, not by the "
                    f"configured governance {self.governance_address}: set PROVEX_GOVERNANCE_ADDRESS to the "
                    f"chain's, or complete the two-step admin transfer")
        if not self.ledger.has_role("CheckpointLog", RECORDER_ROLE, self.recorder.address):
            raise ChainConfigError(f"the recorder {self.recorder.address} lacks RECORDER_ROLE on CheckpointLog: "
                                   "governance must grant it (or set PROVEX_RECORDER_KEY to the chain's recorder)")

    def _fund(self) -> None:
        """Gas for the keys this process signs with (the deployer pays; it grants nothing)."""
        assert self.ledger is not None and self.deployer is not None
        want, client = self.config.fund_wei, self.ledger.client
        sent = [client.send(self.deployer, to=acct.address, value=want)
                for acct in (self.governance, self.recorder, self.minter)
                if want and acct is not None and client.balance(acct.address) < want // 2]
        for tx in sent:  # sent together: one block on a chain with a block time
            client.wait_sent(tx)

    def _house_role(self) -> None:
        """The exchange's house key acts on the exchange's own account (e.g. a refund a buyer asked for): it
        needs EXCHANGE_ROLE on Settlement, which governance grants (here when this process is governance)."""
        assert self.ledger is not None
        if self.house is None or self.ledger.has_role("Settlement", EXCHANGE_ROLE, self.house.address):
            return
        if self.governance is not None:
            self.ledger.grant_role(self.governance, "Settlement", EXCHANGE_ROLE, self.house.address)

    @property
    def rpc_url(self) -> str:
        assert self.ledger is not None
        return self.ledger.client.rpc_url

    @property
    def deployment(self) -> Deployment:
        assert self.ledger is not None
        return self.ledger.deployment

    def stop(self) -> None:
        """Withdraw `<home>/chain-rpc.json`, then stop the embedded Anvil (its state is saved)."""
        if self.endpoint is not None:
            withdraw(self.config.home, self.endpoint)
            self.endpoint = None
        if self.anvil is not None:
            self.anvil.stop()

    def __enter__(self) -> ChainRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
