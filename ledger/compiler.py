"""Compile `contracts/*.sol` with py-solc-x and cache ABI + bytecode.

Every imported file (ours and OpenZeppelin's) is embedded in the standard-JSON input, so
native solc and solc-js see identical sources and the cache key covers all of them.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import solcx

from ledger.toolchain import DEFAULT_TOOLCHAIN_DIR, find_solc, pragma_specifier

EvmVersion = Literal["london", "paris", "shanghai", "cancun"]
"""EVM versions the contracts are compiled for: `cancun` (the default: PUSH0, MCOPY) or an older one for a chain
that lags (`paris` or `london` for Besu/QBFT or FISCO BCOS without PUSH0)."""
EVM_VERSIONS: tuple[str, ...] = get_args(EvmVersion)
DEFAULT_EVM_VERSION: EvmVersion = "cancun"

IMPORT_RE = re.compile(r'^\s*import\s+(?:[^"\']*from\s+)?["\']([^"\']+)["\']\s*;', re.MULTILINE)


class CompileError(RuntimeError):
    """The compiler reported errors."""


@dataclass(frozen=True)
class Artifact:
    """ABI and deployable bytecode of one contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


@dataclass(frozen=True)
class Build:
    """All compiled contracts plus what the build was keyed by."""

    artifacts: dict[str, Artifact]
    compiler_version: str
    sources_hash: str
    from_cache: bool
    evm_version: str = DEFAULT_EVM_VERSION


def collect_sources(contracts_dir: Path, toolchain_dir: Path) -> dict[str, str]:
    """Our sources keyed by file name plus every transitive import keyed by its import path."""
    sources: dict[str, str] = {}
    pending = [(p.name, p) for p in sorted(contracts_dir.glob("*.sol"))]
    node_modules = toolchain_dir / "node_modules"
    while pending:
        key, path = pending.pop()
        if key in sources:
            continue
        text = path.read_text(encoding="utf-8")
        sources[key] = text
        for imp in IMPORT_RE.findall(text):
            if imp.startswith("."):
                child_key = posixpath.normpath(posixpath.join(posixpath.dirname(key), imp))
                child_path = (path.parent / imp).resolve()
            else:
                child_key, child_path = imp, node_modules / imp
            if not child_path.is_file():
                raise CompileError(f"{key}: import {imp!r} not found (run `make setup`)")
            pending.append((child_key, child_path))
    return sources


def compile_contracts(
    contracts_dir: Path,
    build_dir: Path,
    solc: str | None = None,
    toolchain_dir: Path = DEFAULT_TOOLCHAIN_DIR,
    evm_version: str = DEFAULT_EVM_VERSION,
) -> Build:
    """Compile (or load from `build_dir`) every contract in `contracts_dir` for `evm_version`."""
    if evm_version not in EVM_VERSIONS:
        raise CompileError(f"EVM version {evm_version!r} is not one of {', '.join(EVM_VERSIONS)}")
    sources = collect_sources(contracts_dir, toolchain_dir)
    solc_path = find_solc(solc, pragma_specifier(
        {k: v for k, v in sources.items() if "/" not in k}), toolchain_dir)
    version = str(solcx.wrapper.get_solc_version(solc_path, with_commit_hash=True))
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()
    cache = build_dir / f"{digest[:16]}-{version}-{evm_version}.json"
    if cache.is_file():
        return _load(cache, version, digest, evm_version)
    output = solcx.compile_standard(_standard_input(sources, evm_version), solc_binary=solc_path)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    artifacts: dict[str, dict[str, Any]] = {}
    for file_name, contracts in output["contracts"].items():
        if "/" in file_name:
            continue
        for name, c in contracts.items():
            if c["evm"]["bytecode"]["object"]:
                artifacts[name] = {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]}
    build_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": version, "sources_hash": digest, "evm_version": evm_version,
                               "contracts": artifacts}))
    tmp.replace(cache)
    return _load(cache, version, digest, evm_version, from_cache=False)


def _standard_input(sources: dict[str, str], evm_version: str) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {k: {"content": v} for k, v in sources.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": evm_version,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }


def _load(cache: Path, version: str, digest: str, evm_version: str, from_cache: bool = True) -> Build:
    data = json.loads(cache.read_text())
    artifacts = {
        name: Artifact(name, c["abi"], c["bytecode"]) for name, c in data["contracts"].items()
    }
    return Build(artifacts, version, digest, from_cache, evm_version)
