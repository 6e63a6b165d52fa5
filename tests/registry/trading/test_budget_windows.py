"""Budget windows: a license's budget refreshes each calendar month, concurrent queries never overspend a window,
a refund of an old window's charge leaves the new window alone, and the product-wide cap never refreshes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

from sqlmodel import Session
from typer.testing import CliRunner

from api.cli import app
from registry.trading.license_views import license_view
from registry.trading.licenses import authorize_and_spend, get_license, refund_spend
from registry.trading.windows import utc_now, window_end, window_start
from tests.utils.server import Server
from tests.utils.trading import TERMS, actor, bought, listed_product, make_offer, new_account, spend


def _burst(server: Server, me: object, license_id: str, at: datetime) -> list[str]:
    with ThreadPoolExecutor(5) as pool:
        return list(pool.map(lambda _: spend(server, me, license_id, eps=0.3, at=at), range(5)))  # type: ignore[arg-type]


def _utc(*ymd: int) -> datetime:
    return datetime(*ymd, tzinfo=UTC)  # type: ignore[misc]


def test_calendar_windows() -> None:
    t = datetime(2027, 2, 1, 7, 59, 59, tzinfo=timezone(timedelta(hours=8)))  # Beijing, Monday; UTC: Sunday
    assert window_start("month", t) == _utc(2027, 1, 1) and window_end("month", _utc(2027, 1, 1)) == _utc(2027, 2, 1)
    assert window_start("week", t) == _utc(2027, 1, 25) and window_start("day", t) == _utc(2027, 1, 31)
    assert window_end("month", _utc(2027, 12, 1)) == _utc(2028, 1, 1)


def test_month_window_refreshes_and_the_product_cap_holds(server: Server) -> None:
    product = listed_product(server)
    offer = make_offer(server, product, "one_off", [(1, 1)], terms={**TERMS, "epsilon": 1.0, "budget_window": "month"})
    assert offer["terms"]["budget_window"] == "month"
    buyer = new_account(server, fen=1_000)
    me = actor(server, buyer["id"])
    lic = bought(server, buyer, offer)
    now = utc_now()
    first = window_start("month", now)
    assert lic["terms"]["budget_window"] == "month", "the window is in the hashed (on-chain) terms"
    assert lic["budget_window"] == "month"
    assert datetime.fromisoformat(lic["window_refreshes_at"]) == window_end("month", first)
    with server.client("authority") as authority:  # all buyers together, for the product's life: ε 2.5
        r = authority.put(f"/products/{product['id']}/total-budget", json={"epsilon": 2.5, "delta": 1e-4})
        assert r.status_code == 200, r.text

    assert _burst(server, me, lic["id"], now).count("ok") == 3  # 3 × 0.3 of the window's 1.0
    engine = server.db()
    with Session(engine) as s:
        late = authorize_and_spend(s, me, lic["id"], kinds={"count"}, columns={"county"}, epsilon=0.1, delta=0,
                                   at=now)
        s.commit()
    assert late.epsilon_left < 1e-9

    second = window_end("month", first) + timedelta(hours=1)
    with Session(engine) as s:
        fresh = license_view(get_license(s, lic["id"]), at=second)
    assert (fresh.epsilon_left, fresh.window_epsilon_spent, fresh.queries_left) == (1.0, 0.0, TERMS["max_queries"])
    results = _burst(server, me, lic["id"], second)
    assert results.count("ok") == 3 and results.count("PrivacyBudgetExhausted") == 2, "a fresh window, no more"
    with Session(engine) as s:
        assert refund_spend(s, late)  # the old window's charge comes back, the new window's spend stays
        s.commit()
        view = license_view(get_license(s, lic["id"]), at=second)
    assert abs(view.window_epsilon_spent - 0.9) < 1e-9 and view.window_queries_used == 3

    third = window_end("month", window_start("month", second)) + timedelta(days=2)
    results = _burst(server, me, lic["id"], third)  # product-wide: 1.8 spent of 2.5, room for 2 more
    assert results.count("ok") == 2 and results.count("PrivacyBudgetExhausted") == 3, results
    with server.client("auditor") as auditor:
        total = auditor.get(f"/products/{product['id']}/total-budget").json()
    assert abs(total["epsilon_spent"] - 2.4) < 1e-9, "the product-wide cap never refreshes"
    engine.dispose()
    cli = CliRunner().invoke(app, ["license", lic["id"], "--api", server.url, "--key", buyer["api_key"]])
    assert cli.exit_code == 0 and "month: refreshes" in cli.stdout, cli.stdout
