"""Locate the chain toolchain: the Anvil binary and a Solidity compiler.

Nothing is downloaded here: Anvil comes from PATH or the npm package installed into
`.toolchain/` by `make setup`; solc from `PROVEX_SOLC`/`SOLC_BINARY`, a solcx-installed
version, or the solc-js wrapper `toolchain/solc`.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TOOLCHAIN_DIR = REPO_ROOT / ".toolchain"
SOLCJS_WRAPPER = REPO_ROOT / "toolchain" / "solc"
ANVIL_NPM_PACKAGE = "@foundry-rs/anvil-linux-amd64"


class ToolchainError(RuntimeError):
    """A required tool is missing; the message says how to get it."""


def find_anvil(explicit: str | None = None, toolchain_dir: Path = DEFAULT_TOOLCHAIN_DIR) -> Path:
    """Return the Anvil executable: `explicit` (PROVEX_ANVIL), then PATH, then `.toolchain/`."""
    if explicit:
        path = Path(explicit)
        if not os.access(path, os.X_OK):
            raise ToolchainError(f"PROVEX_ANVIL={explicit} is not an executable file")
        return path
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    bundled = toolchain_dir / "node_modules" / ANVIL_NPM_PACKAGE / "bin" / "anvil"
    if os.access(bundled, os.X_OK):
        return bundled
    raise ToolchainError(
        "Anvil not found. Either run `make setup` (installs the npm package "
        f"{ANVIL_NPM_PACKAGE} into {toolchain_dir}) or install Foundry (`foundryup`) so that "
        "`anvil` is on PATH, or point PROVEX_ANVIL at an anvil binary."
    )


def pragma_specifier(sources: dict[str, str]) -> SpecifierSet:
    """The intersection of the `pragma solidity` ranges of the project's own sources."""
    spec = SpecifierSet()
    for text in sources.values():
        match = re.search(r"pragma\s+solidity\s+([^;]+);", text)
        if match:
            spec &= _npm_range_to_specifier(match.group(1).strip())
    return spec


def _npm_range_to_specifier(expr: str) -> SpecifierSet:
    parts: list[str] = []
    for token in expr.split():
        if token.startswith("^"):
            v = Version(token[1:])
            upper = f"0.{v.minor + 1}.0" if v.major == 0 else f"{v.major + 1}.0.0"
            parts += [f">={v}", f"<{upper}"]
        elif token[0] in "<>=!":
            parts.append(token)
        else:
            parts.append(f"=={token}")
    return SpecifierSet(",".join(parts))


def find_solc(
    explicit: str | None,
    spec: SpecifierSet,
    toolchain_dir: Path = DEFAULT_TOOLCHAIN_DIR,
) -> Path:
    """Return a solc executable for `spec`, in the documented order of preference."""
    chosen = explicit or os.environ.get("SOLC_BINARY")
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise ToolchainError(f"solc binary {chosen} (PROVEX_SOLC/SOLC_BINARY) is not executable")
        return Path(chosen)
    installed = _solcx_installed(spec)
    if installed is not None:
        return installed
    if (toolchain_dir / "node_modules" / "solc").is_dir() and shutil.which("node"):
        return SOLCJS_WRAPPER
    raise ToolchainError(
        f"No Solidity compiler satisfying {spec} found. Run `make setup` (installs solc-js into "
        f"{toolchain_dir}), install one with py-solc-x, or set PROVEX_SOLC to a native solc."
    )


def _solcx_installed(spec: SpecifierSet) -> Path | None:
    import solcx

    try:
        versions = solcx.get_installed_solc_versions()
    except Exception:
        return None
    for version in sorted(versions, reverse=True):
        if version in spec:
            return Path(solcx.install.get_executable(version))
    return None
