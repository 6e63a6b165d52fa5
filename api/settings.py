"""The one settings class: every knob is an environment variable prefixed `PROVEX_`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.runtime import ChainConfig
from ledger.toolchain import DEFAULT_TOOLCHAIN_DIR, REPO_ROOT


class Settings(BaseSettings):
    """Embedded defaults: SQLite and an Anvil started by the app, everything under `home`."""

    model_config = SettingsConfigDict(env_prefix="PROVEX_", extra="ignore")

    env: Literal["dev", "prod"] = Field("dev", description="dev allows deterministic demo keys and test-token minting")
    home: Path = Field(Path(".provex"), description="where the app writes everything at run time")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<home>/provex.db")
    rpc_url: str | None = Field(None, description="external EVM JSON-RPC endpoint; unset starts Anvil")
    deployer_key: SecretStr | None = Field(None, description="funded key for an external chain")
    anvil: str | None = Field(None, description="path of the anvil binary (default: PATH, then .toolchain)")
    solc: str | None = Field(None, description="path of a native solc (SOLC_BINARY is honoured too)")
    toolchain_dir: Path = Field(DEFAULT_TOOLCHAIN_DIR, description="npm toolchain folder")
    contracts_dir: Path = Field(REPO_ROOT / "contracts", description="Solidity sources")
    persist_chain: bool = Field(True, description="embedded Anvil keeps its state in <home>/anvil-state.json")
    rpc_timeout: float = Field(10.0, description="seconds before a chain call counts as unavailable")
    confirmations: int = Field(0, ge=0, description="blocks on top before an event or anchor counts")
    key_passphrase: SecretStr = Field(SecretStr("provex-dev-only"), description="encrypts participant keys at rest")
    keystore_scrypt_n: int = Field(2**14, description="scrypt work factor for keyfiles")
    api_host: str = Field("127.0.0.1", description="API bind address")
    api_port: int = Field(8700, description="API port")
    anchor_batch_size: int = Field(1024, ge=1, description="records per checkpoint at most")
    anchor_max_age: float = Field(2.0, gt=0, description="seconds a record may wait before anchoring")
    outbox_interval: float = Field(2.0, gt=0, description="seconds between outbox drains (chain jobs queued "
                                   "while the chain was down)")
    dev_fund_wei: int = Field(10**18, ge=0, description="gas ETH the deployer sends each new account (dev only)")
    db_pool_size: int = Field(10, ge=1, description="database connection pool size")
    portal_session_hours: float = Field(12.0, gt=0, le=24 * 30, description="a portal sign-in lasts this "
                                        "many hours (sign-out or a new API key ends it sooner)")
    provider_allow: list[str] = Field([], description="networks (CIDR) and host names "
                                      "provider nodes may be registered at, as a JSON list; loopback is "
                                      "allowed in dev only, link-local never")
    trust_forwarded_proto: bool = Field(False, description="take the scheme from X-Forwarded-Proto (set by the "
                                        "TLS proxy in front): `Secure` cookies, HSTS, the origin forms must match")

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
            toolchain_dir=self.toolchain_dir,
            contracts_dir=self.contracts_dir,
            persist_state=self.persist_chain,
            rpc_timeout=self.rpc_timeout,
        )


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()


__all__ = ["REPO_ROOT", "Settings", "get_settings"]
