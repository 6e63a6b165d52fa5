import json
import time

import sqlalchemy as sa

from tests.utils.server import Server


def test_zz_probe(server: Server) -> None:
    deadline = time.monotonic() + 60
    with server.db().connect() as conn:
        while conn.execute(sa.text("SELECT count(*) FROM chain_tx WHERE state = 'pending'")).scalar_one():
            assert time.monotonic() < deadline
            time.sleep(0.3)
    time.sleep(3)
    with server.client("auditor") as c:
        report = c.post("/audit/verify").json()
    print("PROBE", json.dumps(report, indent=1)[:6000])
