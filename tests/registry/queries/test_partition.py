"""The partitioned-ID rule on a real (in-memory SQLite) registry database: overlapping prefixes are refused."""

from __future__ import annotations

import pytest
from sqlmodel import Session, SQLModel, create_engine

from registry.errors import RuleViolation
from registry.models import Product
from registry.queries.models import ProviderNode
from registry.queries.partition import check_partition


@pytest.mark.parametrize(("prefixes", "error"), [
    ({"a": ["E-"], "b": ["W-", "S-"]}, None),
    ({"a": ["E-"], "b": ["E-1", "W-"]}, "IdPrefixesOverlap(product=PX-1, nodes=n-a,n-b, prefixes=E-,E-1)"),
    ({"a": ["E-"], "b": ["E-"]}, "IdPrefixesOverlap"),
    ({"a": ["E-"], "b": None}, "IdPrefixesMissing(product=PX-1, node=n-b)"),
])
def test_prefixes_must_be_declared_and_disjoint(prefixes: dict[str, list[str] | None], error: str | None) -> None:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        for account, own in prefixes.items():
            session.add(ProviderNode(account_id=account, node_id=f"n-{account}", url="http://x", public_key="00" * 32,
                                     id_prefixes=own))
        session.commit()
        product = Product(id="p1", code="PX-1", provider_ids=list(prefixes))
        if error is None:
            check_partition(session, product)
        else:
            with pytest.raises(RuleViolation, match=error.replace("(", r"\(").replace(")", r"\)")):
                check_partition(session, product)
