"""The one settings class: every knob is an environment variable prefixed `PROVEX_`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.anvil import is_dev_address
from ledger.client import account_from_key
from ledger.compiler import DEFAULT_EVM_VERSION, EvmVersion
from ledger.keys import DEV_PASSPHRASE
from ledger.runtime import ChainConfig
from ledger.toolchain import DEFAULT_TOOLCHAIN_DIR, REPO_ROOT


class DevDefaultsRefused(RuntimeError):
    """PROVEX_ENV=prod with a dev default in the settings; the message lists each one.

    Not a ValueError on purpose: pydantic would wrap it with the raw input, secrets included.
    """


class Settings(BaseSettings):
    """Embedded defaults: SQLite and an Anvil started by the app, everything under `home`."""

    model_config = SettingsConfigDict(env_prefix="PROVEX_", extra="ignore")

    env: Literal["dev", "prod"] = Field("dev", description="dev allows deterministic demo keys and test-token "
                                        "minting; prod refuses every dev default at start")
    home: Path = Field(Path(".provex"), description="where the app writes everything at run time")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<home>/provex.db")
    rpc_url: str | None = Field(None, description="external EVM JSON-RPC endpoint; unset starts Anvil")
    deployer_key: SecretStr | None = Field(None, description="funded key for an external chain; it only pays "
                                           "for deployment and holds no role afterwards")
    governance_address: str | None = Field(None, description="sole admin of every contract (two-step, delayed "
                                           "transfers); prod: a multisig or TimelockController; dev default: "
                                           "a key generated under <home>/keys, adopted by the first authority")
    admin_delay: int = Field(0, ge=0, lt=2**48, description="seconds a new governance waits before it may accept "
                             "an admin transfer (0 in dev and tests; days in prod)")
    house_key: SecretStr | None = Field(None, description="the exchange's own key for acts on its own account (a "
                                        "refund a buyer asked for); governance grants it EXCHANGE_ROLE on Settlement")
    recorder_key: SecretStr | None = Field(None, description="the key that anchors checkpoints (a key of its own); "
                                           "dev default: generated under <home>/keys")
    settlement_token: str | None = Field(None, description="address of the existing ERC-20 to settle in (prod); "
                                         "unset deploys the dev SettlementToken, which governance can mint")
    anvil: str | None = Field(None, description="path of the anvil binary (default: PATH, then .toolchain)")
    solc: str | None = Field(None, description="path of a native solc (SOLC_BINARY is honoured too)")
    evm_version: EvmVersion = Field(DEFAULT_EVM_VERSION, description="EVM version the contracts are "
                                               "compiled for: `paris` (or `london`) for a chain without PUSH0, "
                                               "MCOPY and transient storage, e.g. Besu/QBFT or FISCO BCOS")
    toolchain_dir: Path = Field(DEFAULT_TOOLCHAIN_DIR, description="npm toolchain folder")
    contracts_dir: Path = Field(REPO_ROOT / "contracts", description="Solidity sources")
    persist_chain: bool = Field(True, description="embedded Anvil keeps its state in <home>/anvil-state.json")
    rpc_timeout: float = Field(10.0, description="seconds before a chain call counts as unavailable")
    confirmations: int = Field(0, ge=0, description="blocks on top before an event or anchor counts")
    key_passphrase: SecretStr = Field(SecretStr(DEV_PASSPHRASE), description="encrypts the exchange's own generated "
                                      "dev keys (governance, recorder, house, minter) at rest")
    keystore_scrypt_n: int = Field(2**14, description="scrypt work factor for keyfiles")
    api_host: str = Field("127.0.0.1", description="API bind address")
    api_port: int = Field(8700, description="API port (`provex demo` prefers it and listens on a free one when "
                          "it is taken)")
    instance: str | None = Field(None, description="a token `GET /health` echoes, so whoever started the server "
                                 "can tell it from another answering on the same port (`provex demo` sets one per run)")
    anchor_batch_size: int = Field(1024, ge=1, description="records per checkpoint at most")
    anchor_max_age: float = Field(2.0, gt=0, description="seconds a record may wait before anchoring")
    promise_max_delay: int = Field(600, ge=1, description="seconds the recorder promises, in each record's signed "
                                   "promise, that anchoring will take at most (docs/ledger-format.md); keep it "
                                   "well above anchor_max_age")
    worker: Literal["inline", "external"] = Field("inline", description="who runs the chain work (outbox "
                                                  "dispatcher, anchoring): `inline` — every API process "
                                                  "campaigns and the database's leader runs it; `external` — "
                                                  "only `provex worker` processes do")
    outbox_interval: float = Field(2.0, gt=0, description="seconds between outbox drains (chain jobs queued "
                                   "while the chain was down)")
    notice_days: float = Field(7.0, ge=0, le=365, description="days of public notice (公示) between a product's "
                               "approval and its listing, during which any account may object; an approval may "
                               "set a longer one, never a shorter one")
    dev_fund_wei: int = Field(10**18, ge=0, description="gas ETH the deployer sends each new account (dev only)")
    db_pool_size: int = Field(10, ge=1, description="database connection pool size")
    read_threads: int = Field(2, ge=1, le=64, description="threads that run the read routes (catalog search, "
                              "product reads) of one API process: few, so that reads do not contend for the "
                              "interpreter lock, two so that a slow search does not hold up the others; run "
                              "more processes for more cores")
    portal_session_hours: float = Field(12.0, gt=0, le=24 * 30, description="a portal sign-in lasts this "
                                        "many hours (sign-out or a new API key ends it sooner)")
    provider_allow: list[str] = Field([], description="networks (CIDR) and host names "
                                      "provider nodes may be registered at, as a JSON list; loopback is "
                                      "allowed in dev only, link-local never")
    trust_forwarded_proto: bool = Field(False, description="take the scheme from X-Forwarded-Proto (set by the "
                                        "TLS proxy in front): `Secure` cookies, HSTS, the origin forms must match")

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_prod(self) -> Settings:
        problems = self.dev_defaults() if self.env == "prod" else []
        if problems:
            raise DevDefaultsRefused("PROVEX_ENV=prod refuses dev defaults:\n" + "\n".join(f"- {p}" for p in problems))
        return self

    def dev_defaults(self) -> list[str]:
        """What in these settings is a dev default (a public key, a default secret, minting, a deployer
        that would govern): each is refused when PROVEX_ENV=prod."""
        problems = []
        if self.key_passphrase.get_secret_value() == DEV_PASSPHRASE:
            problems.append("PROVEX_KEY_PASSPHRASE is the dev default; take it from a secret store")
        if not self.rpc_url:
            problems.append("PROVEX_RPC_URL is unset: the embedded Anvil runs on well-known dev keys")
        deployer = _address_of(self.deployer_key)
        if deployer is None:
            problems.append("PROVEX_DEPLOYER_KEY is unset or not a private key: the dev deployer key is public")
        elif is_dev_address(deployer):
            problems.append(f"PROVEX_DEPLOYER_KEY is a well-known Anvil dev key ({deployer})")
        recorder = _address_of(self.recorder_key)
        if recorder is None:
            problems.append("PROVEX_RECORDER_KEY is unset: the recorder is a key of its own, not generated")
        elif is_dev_address(recorder):
            problems.append(f"PROVEX_RECORDER_KEY is a well-known Anvil dev key ({recorder})")
        elif recorder == deployer:
            problems.append("PROVEX_RECORDER_KEY is the deployer key: the recorder is a key of its own")
        gov = self.governance_address
        if not gov:
            problems.append("PROVEX_GOVERNANCE_ADDRESS is unset: name a multisig or TimelockController, not a "
                            "key the app generates")
        elif deployer is not None and gov.lower() == deployer.lower():
            problems.append("PROVEX_GOVERNANCE_ADDRESS is the deployer: the deployer must not govern")
        elif is_dev_address(gov):
            problems.append(f"PROVEX_GOVERNANCE_ADDRESS is a well-known Anvil dev account ({gov})")
        if not self.settlement_token:
            problems.append("PROVEX_SETTLEMENT_TOKEN is unset: production settles in an existing ERC-20, the "
                            "dev token can be minted")
        return problems

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'provex.db'}"

    def chain_config(self) -> ChainConfig:
        return ChainConfig(
            home=self.home,
            rpc_url=self.rpc_url,
            deployer_key=self.deployer_key.get_secret_value() if self.deployer_key else None,
            anvil=self.anvil,
            solc=self.solc,
            evm_version=self.evm_version,
            toolchain_dir=self.toolchain_dir,
            contracts_dir=self.contracts_dir,
            persist_state=self.persist_chain,
            rpc_timeout=self.rpc_timeout,
            governance_address=self.governance_address,
            recorder_key=self.recorder_key.get_secret_value() if self.recorder_key else None,
            house_key=self.house_key.get_secret_value() if self.house_key else None,
            settlement_token=self.settlement_token,
            admin_delay=self.admin_delay,
            dev_keys=self.env == "dev",
            key_passphrase=self.key_passphrase.get_secret_value(),
            scrypt_n=self.keystore_scrypt_n,
            fund_wei=10 * self.dev_fund_wei if self.env == "dev" else 0,
        )


def _address_of(key: SecretStr | None) -> str | None:
    if key is None:
        return None
    try:
        return str(account_from_key(key.get_secret_value()).address)
    except (ValueError, TypeError):
        return None


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()


__all__ = ["REPO_ROOT", "DevDefaultsRefused", "Settings", "get_settings"]
