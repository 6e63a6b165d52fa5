"""CheckpointLog: only the recorder anchors, tree size must grow, checkpoints readable by index."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount

from ledger.contracts import Ledger
from ledger.errors import ContractRevert

R1, R2 = b"\xaa" * 32, b"\xbb" * 32


def test_checkpoints_are_monotonic_and_readable(ledger: Ledger, roles: dict[str, LocalAccount],
                                                new_account: Callable[[], LocalAccount]) -> None:
    rec = roles["recorder"]
    with pytest.raises(ContractRevert, match=r"^AccessControlUnauthorizedAccount"):
        ledger.anchor(new_account(), 10**9, R1)
    start = ledger.checkpoint_count()
    latest = ledger.checkpoint(start - 1).tree_size if start else 0
    ledger.anchor(rec, latest + 5, R1)
    ledger.anchor(rec, latest + 9, R2)
    for size in (latest + 9, latest + 3):
        with pytest.raises(ContractRevert, match=r"^TreeSizeNotIncreasing") as exc:
            ledger.anchor(rec, size, R1)
        assert exc.value.args_by_name == {"previousSize": latest + 9, "treeSize": size}
    assert ledger.checkpoint_count() == start + 2
    first, second = ledger.checkpoint(start), ledger.checkpoint(start + 1)
    assert (first.tree_size, first.root) == (latest + 5, R1)
    assert (second.tree_size, second.root) == (latest + 9, R2)
    assert second.timestamp >= first.timestamp > 0
    with pytest.raises(ContractRevert, match=r"^UnknownCheckpoint") as exc:
        ledger.checkpoint(start + 2)
    assert exc.value.args_by_name == {"index": start + 2, "count": start + 2}
