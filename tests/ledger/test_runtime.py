"""Toolchain discovery, compile cache, Anvil state file restarts and external-RPC mode."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from eth_account import Account

from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.compiler import compile_contracts
from ledger.keys import KeyfileError, Keyring
from ledger.rpc_file import RPC_FILE, ChainEndpoint, publish, read_endpoint, running_endpoint
from ledger.runtime import ChainConfig, ChainConfigError, ChainRuntime
from ledger.toolchain import REPO_ROOT, ToolchainError, find_anvil, find_solc, pragma_specifier


def test_compile_cache_hit(tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    first = compile_contracts(REPO_ROOT / "contracts", build_dir)
    second = compile_contracts(REPO_ROOT / "contracts", build_dir)
    assert not first.from_cache and second.from_cache
    assert first.sources_hash == second.sources_hash
    assert first.artifacts["Settlement"].bytecode == second.artifacts["Settlement"].bytecode
    assert "0.8." in first.compiler_version
    assert len(list(build_dir.glob("*.json"))) == 1


def test_compile_cache_keyed_by_sources(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    src = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract A { uint256 public x = %d; }\n"
    (contracts / "A.sol").write_text(src % 1)
    one = compile_contracts(contracts, tmp_path / "build")
    (contracts / "A.sol").write_text(src % 2)
    two = compile_contracts(contracts, tmp_path / "build")
    assert not two.from_cache and one.sources_hash != two.sources_hash


def test_pragma_and_missing_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = pragma_specifier({"A.sol": "pragma solidity ^0.8.24;"})
    assert "0.8.28" in spec and "0.9.0" not in spec and "0.8.23" not in spec
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    with pytest.raises(ToolchainError) as exc:
        find_anvil(None, tmp_path)
    assert "make setup" in str(exc.value) and "foundryup" in str(exc.value)
    with pytest.raises(ToolchainError, match="not an executable"):
        find_anvil(str(tmp_path / "nope"))
    with pytest.raises(ToolchainError, match="PROVEX_SOLC"):
        find_solc(str(tmp_path / "nope"), spec, tmp_path)


def test_solc_binary_env_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "solc"
    fake.write_text("#!/bin/sh\necho 'Version: 0.8.99+commit.deadbeef'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SOLC_BINARY", str(fake))
    assert find_solc(None, pragma_specifier({}), tmp_path) == fake


def test_restart_with_state_file_keeps_code_and_balances(tmp_path: Path) -> None:
    cfg = ChainConfig(home=tmp_path, persist_state=True)
    holder = Account.create().address
    with ChainRuntime(cfg) as rt:
        assert rt.fresh_deployment and rt.ledger is not None and rt.minter is not None
        rt.ledger.mint(rt.minter, holder, 4242)
        first = rt.deployment
        # it publishes where its chain answers, for this machine only, while it runs
        assert rt.anvil is not None and rt.anvil.proc is not None
        assert running_endpoint(tmp_path) == ChainEndpoint(rt.rpc_url, rt.anvil.proc.pid)
        assert (tmp_path / RPC_FILE).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "anvil-state.json").is_file()
    assert not (tmp_path / RPC_FILE).exists()
    with ChainRuntime(cfg) as rt:
        assert rt.ledger is not None
        assert not rt.fresh_deployment, "the manifest's deployment was reused"
        assert rt.deployment == first
        assert rt.ledger.balance_of(holder) == 4242


def test_external_rpc_mode(tmp_path: Path) -> None:
    with Anvil() as node:
        with pytest.raises(ChainConfigError, match="PROVEX_DEPLOYER_KEY"):
            ChainRuntime(ChainConfig(home=tmp_path, rpc_url=node.url)).start()
        cfg = ChainConfig(home=tmp_path, rpc_url=node.url, deployer_key=DEV_DEPLOYER_KEY)
        rt = ChainRuntime(cfg).start()
        assert rt.anvil is None and rt.fresh_deployment
        assert rt.rpc_url == node.url
        again = ChainRuntime(cfg).start()
        assert not again.fresh_deployment and again.deployment == rt.deployment
    # a new chain at the same URL no longer has the code: deploy afresh
    with Anvil(port=node.port) as node2:
        fresh = ChainRuntime(ChainConfig(home=tmp_path, rpc_url=node2.url, deployer_key=DEV_DEPLOYER_KEY)).start()
        assert fresh.fresh_deployment


def test_a_stale_rpc_file_is_no_running_chain(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    publish(tmp_path, ChainEndpoint("http://127.0.0.1:1", gone.pid))
    assert read_endpoint(tmp_path) == ChainEndpoint("http://127.0.0.1:1", gone.pid)
    assert running_endpoint(tmp_path) is None
    publish(tmp_path, ChainEndpoint("http://127.0.0.1:2", os.getpid()))
    assert running_endpoint(tmp_path) == ChainEndpoint("http://127.0.0.1:2", os.getpid())
    (tmp_path / RPC_FILE).write_text("{not json")
    assert read_endpoint(tmp_path) is None


def test_keyfiles_encrypted_at_rest() -> None:
    ring = Keyring("correct horse", scrypt_n=2**10)
    acct, keyfile = ring.create()
    assert acct.key.hex()[2:] not in keyfile and acct.key.hex() not in keyfile
    assert '"kdf": "scrypt"' in keyfile
    assert Keyring("correct horse", scrypt_n=2**10).open(keyfile).address == acct.address
    with pytest.raises(KeyfileError):
        Keyring("wrong", scrypt_n=2**10).open(keyfile)
    assert "correct horse" not in repr(ring) and os.environ.get("PROVEX_KEY_PASSPHRASE") is None
