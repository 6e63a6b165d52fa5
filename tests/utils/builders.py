"""Build the exchange's objects over HTTP for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.utils.nodes import serving_provider
from tests.utils.server import Server


def resource_body(classification: str = "general", **over: Any) -> dict[str, Any]:
    body = {"name": f"resource {uuid.uuid4().hex[:6]}", "department": "Hohhot Agriculture Bureau",
            "sector": "agriculture", "region_code": "150100", "classification": classification,
            "sensitivity_tags": ["commercial_secret"], "content_hash": uuid.uuid4().hex * 2,
            "column_schema": [{"name": "county", "type": "string"}, {"name": "yield_t", "type": "number"}],
            "update_frequency": "yearly", "volume": 1000}
    body.update(over)
    return body


def make_resource(server: Server, classification: str = "general", **over: Any) -> dict[str, Any]:
    with server.client("authority") as c:
        r = c.post("/resources", json=resource_body(classification, **over))
        assert r.status_code == 201, r.text
        return dict(r.json())


def authz_body(server: Server, resource_ids: list[str], operator: str = "operator",
               max_classification: str = "important", **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {"operator_id": server.ids[operator], "resource_ids": resource_ids,
            "purposes": ["agricultural statistics products"],
            "valid_from": (now - timedelta(hours=1)).isoformat(),
            "valid_until": (now + timedelta(days=365)).isoformat(),
            "max_classification": max_classification}
    body.update(over)
    return body


def make_authorization(server: Server, resource_ids: list[str], operator: str = "operator",
                       **over: Any) -> dict[str, Any]:
    with server.client("authority") as c:
        r = c.post("/authorizations", json=authz_body(server, resource_ids, operator, **over))
        assert r.status_code == 201, r.text
        return dict(r.json())


def product_body(authz: dict[str, Any], title: str | None = None, **over: Any) -> dict[str, Any]:
    body = {"title": title or f"Crop yields {uuid.uuid4().hex[:6]}", "description": "Annual yields by county.",
            "sector": "agriculture", "keywords": ["crops", "yield"], "region_code": "150100",
            "temporal_start": "2015-01-01", "temporal_end": "2024-12-31", "update_frequency": "yearly",
            "source_statement": "Hohhot Agriculture Bureau statistics.", "classification": "general",
            "scale": "9 counties x 10 years",
            "columns": [{"name": "county", "type": "string", "group_by": True, "domain": ["A", "B"]},
                        {"name": "yield_t", "type": "number", "min": 0, "max": 1e6}],
            "sample": [{"county": "A", "yield_t": 12.5}],
            "quality": {"completeness": 0.98, "timeliness": 0.9, "accuracy": 0.95},
            "authorization_id": authz["id"], "resource_ids": authz["resource_ids"], "provider_ids": []}
    body.update(over)
    return body


CHECKLIST = {"lawful_source": True, "valid_authorization": True, "classification_consistent": True,
             "personal_information_removed": True, "sample_synthetic": True}


def authorized(server: Server, operator: str = "operator") -> dict[str, Any]:
    res = make_resource(server)
    return make_authorization(server, [res["id"]], operator)


def make_product(server: Server, authz: dict[str, Any] | None = None, *, stage: str = "draft",
                 operator: str = "operator", **over: Any) -> dict[str, Any]:
    """A product brought to `stage`: draft, submitted, under_review or listed. Beyond drafts, a product names
    the server's own provider (with its live node: listing needs one) unless `provider_ids` is given."""
    authz = authz or authorized(server, operator)
    if stage != "draft":
        over.setdefault("provider_ids", [server.ids["provider"]])
        if server.ids["provider"] in over["provider_ids"]:
            serving_provider(server)
    with server.client(operator) as op, server.client("exchange") as ex:
        r = op.post("/products", json=product_body(authz, **over))
        assert r.status_code == 201, r.text
        p = r.json()
        if stage == "draft":
            return dict(p)
        r = op.post(f"/products/{p['id']}/submit")
        assert r.status_code == 200, r.text
        if stage == "submitted":
            return dict(r.json())
        r = ex.post(f"/products/{p['id']}/review/start")
        assert r.status_code == 200, r.text
        if stage == "under_review":
            return dict(r.json())
    return approve_and_list(server, p["id"])


def approve_and_list(server: Server, product_id: str) -> dict[str, Any]:
    """Approve a product under review and, its public notice being zero-length on test servers
    (PROVEX_NOTICE_DAYS=0), complete its listing at once: the listed product."""
    with server.client("exchange") as ex:
        r = ex.post(f"/products/{product_id}/review", json={"decision": "approve", "checklist": CHECKLIST,
                                                             "reasons": "ok"})
        assert r.status_code == 200, r.text
        assert r.json()["product"]["status"] == "in_notice", r.text
        r = ex.post(f"/products/{product_id}/listing")
        assert r.status_code == 200, r.text
        return dict(r.json()["product"])


def assert_agrees(server: Server, product_id: str) -> dict[str, Any]:
    """Database and chain agree on the product (status, hash, version)."""
    with server.client("auditor") as c:
        r = c.get(f"/products/{product_id}/chain")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["agree"], body
        return dict(body)
