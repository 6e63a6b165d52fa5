"""Chain errors: reverts decoded into their custom error name and values."""

from __future__ import annotations

from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address


class ChainError(RuntimeError):
    """Base class for ledger chain failures."""

    code = "chain_error"


class ChainUnavailable(ChainError):
    """The JSON-RPC endpoint did not answer."""

    code = "chain_unavailable"


class ContractRevert(ChainError):
    """A contract call reverted with a known custom error, e.g. `NotAuthorized(operator=.., resource=..)`."""

    code = "chain_rule"

    def __init__(self, name: str, args: dict[str, Any]) -> None:
        self.name = name
        self.args_by_name = args
        super().__init__(render_call(name, args))


def render_call(name: str, args: dict[str, Any]) -> str:
    """A rule and its values as the contract's custom error reads: `Name(key=value, ...)`, bytes as 0x-hex."""
    rendered = ", ".join(f"{k}={'0x' + v.hex() if isinstance(v, bytes) else v}" for k, v in args.items())
    return f"{name}({rendered})"


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def revert_data(data: Any) -> str | None:
    """The revert bytes (hex) a node attached to a refused call: a hex string (Anvil, geth, Besu) or an object
    holding it under `data` (Hardhat: `{"message": ..., "data": "0x..."}`)."""
    while isinstance(data, dict):
        data = data.get("data")
    return data if isinstance(data, str) else None


class ErrorDecoder:
    """Maps 4-byte selectors of every custom error in the given ABIs to names and fields."""

    def __init__(self, abis: list[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {
            function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"], ["message"]),
            function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"], ["code"]),
        }
        for abi in abis:
            for entry in abi:
                if entry.get("type") != "error":
                    continue
                types = [_abi_type(p) for p in entry["inputs"]]
                names = [p["name"] or f"arg{i}" for i, p in enumerate(entry["inputs"])]
                sel = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
                self._errors[sel] = (entry["name"], types, names)

    def decode(self, data: str | bytes | dict[str, Any] | None) -> ContractRevert:
        """Decode revert data (hex, bytes, or a node's error object holding it) into a ContractRevert; unknown
        data keeps its hex."""
        if isinstance(data, dict):
            data = revert_data(data)
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else (data or b"")
        known = self._errors.get(raw[:4])
        if known is None:
            return ContractRevert("UnknownRevert", {"data": raw})
        name, types, names = known
        try:
            values = decode(types, raw[4:])
        except Exception:
            return ContractRevert(name, {"data": raw[4:]})
        rendered = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, values, strict=True)]
        return ContractRevert(name, dict(zip(names, rendered, strict=True)))
