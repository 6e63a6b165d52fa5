"""Catalog: keyword search, filters, visibility, cursor pagination stable under inserts."""

from __future__ import annotations

import uuid
from typing import Any

from tests.utils.builders import authorized, make_product, product_body
from tests.utils.server import Server


def _all_pages(server: Server, role: str, params: dict[str, Any], between: Any = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    with server.client(role) as c:
        while True:
            r = c.get("/catalog", params={**params, **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            items += r.json()["items"]
            cursor = r.json()["next_cursor"]
            if between:
                between()
            if not cursor:
                return items


def test_keyword_search_and_filters(server: Server) -> None:
    tag = "zq" + uuid.uuid4().hex[:8]
    authz = authorized(server)
    with server.client("operator") as op:
        a = op.post("/products", json=product_body(authz, title=f"Grassland {tag} survey")).json()
        b = op.post("/products", json=product_body(authz, description=f"Herds counted by {tag} drones",
                                                   region_code="152500")).json()
        c = op.post("/products", json=product_body(authz, keywords=[tag, "牧区"], sector="ecology")).json()
    with server.client("exchange") as ex:
        found = {p["id"] for p in ex.get("/catalog", params={"q": tag}).json()["items"]}
        assert found == {a["id"], b["id"], c["id"]}
        assert [p["id"] for p in ex.get("/catalog", params={"q": f"{tag} drones"}).json()["items"]] == [b["id"]]
        assert [p["id"] for p in ex.get("/catalog", params={"q": f"{tag} 牧区"}).json()["items"]] == [c["id"]]
        assert [p["id"] for p in ex.get("/catalog", params={"q": tag, "region_code": "152500"}).json()["items"]] \
            == [b["id"]]
        assert [p["id"] for p in ex.get("/catalog", params={"q": tag, "sector": "ecology"}).json()["items"]] \
            == [c["id"]]
        assert ex.get("/catalog", params={"q": tag, "classification": "important"}).json()["items"] == []
        mine = ex.get("/catalog", params={"q": tag, "operator": server.ids["operator"]}).json()["items"]
        assert len(mine) == 3
        titles = [p["title"] for p in ex.get("/catalog", params={"q": tag, "sort": "title"}).json()["items"]]
        assert titles == sorted(titles)
    with server.client("buyer") as buyer:
        assert buyer.get("/catalog", params={"q": tag}).json()["items"] == []


def test_listed_products_found_by_buyers_with_provider_filter(server: Server) -> None:
    tag = "zp" + uuid.uuid4().hex[:8]
    p = make_product(server, stage="listed", title=f"Listed {tag}", provider_ids=[server.ids["provider"]])
    with server.client("buyer") as buyer:
        items = buyer.get("/catalog", params={"q": tag, "provider": server.ids["provider"]}).json()["items"]
        assert [i["id"] for i in items] == [p["id"]] and items[0]["status"] == "listed"
        assert buyer.get("/catalog", params={"q": tag, "provider": server.ids["buyer"]}).json()["items"] == []


def test_pagination_is_stable_under_inserts(server: Server) -> None:
    tag = "zr" + uuid.uuid4().hex[:8]
    authz = authorized(server)
    with server.client("operator") as op:
        initial = [op.post("/products", json=product_body(authz, title=f"{tag} item {i:02d}")).json()
                   for i in range(7)]

        def insert() -> None:
            op.post("/products", json=product_body(authz, title=f"{tag} late"))

        for sort in ("newest", "oldest", "title", "title_desc", "price", "price_desc"):
            seen = _all_pages(server, "exchange", {"q": tag, "limit": 2, "sort": sort}, between=insert)
            ids = [p["id"] for p in seen]
            assert len(ids) == len(set(ids)), "no product twice"
            assert {p["id"] for p in initial} <= set(ids), "no product skipped"
            if sort == "newest":
                assert ids == [p["id"] for p in seen if p["title"] != f"{tag} late"]
            if sort == "title_desc":
                titles = [p["title"] for p in seen]
                assert titles == sorted(titles, reverse=True)


def test_bad_sort_and_cursor_are_refused_naming_them(server: Server) -> None:
    make_product(server, title="zs" + uuid.uuid4().hex[:8])
    with server.client("exchange") as ex:  # sees drafts: a price cursor exists
        r = ex.get("/catalog", params={"sort": "cheapest"})
        assert r.status_code == 422 and r.json()["field"] == "sort", r.text
        cursor = ex.get("/catalog", params={"sort": "price", "limit": 1}).json()["next_cursor"]
        assert cursor
        for sort, bad in (("title", cursor), ("price", "not-a-cursor"), ("price", "x" * 1001)):
            r = ex.get("/catalog", params={"sort": sort, "cursor": bad})
            assert r.status_code == 422 and r.json()["field"] == "cursor", r.text
