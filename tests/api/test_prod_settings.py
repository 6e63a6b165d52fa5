"""PROVEX_ENV=prod refuses every dev default at start, naming each, and never echoes a secret."""

from __future__ import annotations

import os
import subprocess

import pytest
from eth_account import Account

from api.app import app_from_env
from api.settings import DevDefaultsRefused, Settings, get_settings
from ledger.anvil import DEV_DEPLOYER_KEY, is_dev_address
from tests.utils.common import repo_root
from tests.utils.server import VENV_BIN

ANVIL_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def prod(**overrides: str) -> dict[str, str]:
    """Production settings without a dev default, with `overrides` applied."""
    values = {"env": "prod", "key_passphrase": "a passphrase from the secret store",
              "rpc_url": "https://rpc.example", "deployer_key": Account.create().key.to_0x_hex(),
              "recorder_key": Account.create().key.to_0x_hex(), "governance_address": Account.create().address,
              "settlement_token": Account.create().address}
    values.update(overrides)
    return values


def refusal(**overrides: str) -> str:
    with pytest.raises(DevDefaultsRefused) as exc:
        Settings(**prod(**overrides))  # type: ignore[arg-type]
    return str(exc.value)


def test_prod_without_settings_lists_every_dev_default() -> None:
    with pytest.raises(DevDefaultsRefused) as exc:
        Settings(env="prod")
    text = str(exc.value)
    assert text.startswith("PROVEX_ENV=prod refuses dev defaults:")
    for name in ("KEY_PASSPHRASE", "RPC_URL", "DEPLOYER_KEY", "RECORDER_KEY", "GOVERNANCE_ADDRESS",
                 "SETTLEMENT_TOKEN"):
        assert f"PROVEX_{name}" in text


def test_each_dev_default_is_named() -> None:
    assert is_dev_address(Account.from_key(ANVIL_KEY_1).address)
    deployer = Account.from_key(DEV_DEPLOYER_KEY)
    assert "PROVEX_KEY_PASSPHRASE is the dev default" in refusal(key_passphrase="provex-dev-only")
    assert "well-known Anvil dev key" in refusal(deployer_key=DEV_DEPLOYER_KEY)
    assert "well-known Anvil dev key" in refusal(recorder_key=ANVIL_KEY_1)
    own = Account.create()
    assert "the deployer must not govern" in refusal(deployer_key=own.key.to_0x_hex(), governance_address=own.address)
    assert "a key of its own" in refusal(deployer_key=own.key.to_0x_hex(), recorder_key=own.key.to_0x_hex())
    assert "well-known Anvil dev account" in refusal(governance_address=deployer.address)
    text = refusal(settlement_token="")
    assert "PROVEX_SETTLEMENT_TOKEN" in text and "can be minted" in text
    secret = "a passphrase from the secret store"
    assert secret not in refusal(settlement_token="", key_passphrase=secret)


def test_clean_prod_settings_turn_off_dev_keys_and_funding() -> None:
    settings = Settings(**prod(admin_delay="172800"))  # type: ignore[arg-type]
    cfg = settings.chain_config()
    assert not cfg.dev_keys and cfg.fund_wei == 0 and cfg.admin_delay == 172800
    assert cfg.settlement_token == settings.settlement_token and cfg.recorder_key


def test_the_cli_and_the_server_refuse_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
    env.update(PROVEX_ENV="prod", PROVEX_KEY_PASSPHRASE="do-not-echo-me")
    out = subprocess.run([str(VENV_BIN / "provex"), "chain", "status"], env=env, capture_output=True, text=True,
                         cwd=repo_root(), timeout=120)
    assert out.returncode == 2
    assert "PROVEX_ENV=prod refuses dev defaults" in out.stderr and "PROVEX_GOVERNANCE_ADDRESS" in out.stderr
    assert "do-not-echo-me" not in out.stderr + out.stdout
    for key, value in env.items():
        if key.startswith("PROVEX_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(DevDefaultsRefused, match="PROVEX_RECORDER_KEY"):
            app_from_env()
    finally:
        get_settings.cache_clear()
