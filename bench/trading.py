"""Trading benchmark: license purchases per second end to end (HTTP -> order -> buyLicense on chain ->
license), and quote requests per second (priceOf + splitOf by eth_call), over a real uvicorn + Anvil.

Usage: `python bench/trading.py --quick` (under a minute) or without `--quick` (longer phases).
Setup goes through the API like a user would (CLI bootstrap accounts, resource, authorization, product,
review, listing, a metered offer with a 3-way split, test fen for each buyer).
Last line: JSON with `purchases_per_s` and `quotes_per_s`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from catalog import drive, start_api  # noqa: E402
from purchase_paths import measure as purchase_paths  # noqa: E402

from api.client.signer import SigningTransport, domain_from, make_binding  # noqa: E402
from tests.utils.builders import make_product  # noqa: E402


class Api:
    """Just what tests.utils.builders needs: role clients and account ids."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.keys: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.signers: dict[str, LocalAccount] = {}  # api key -> its holder's own key, which signs its requests
        self.domain = domain_from(httpx.get(url + "/signing", timeout=60).json())

    def client(self, role: str | None = None, key: str | None = None) -> httpx.Client:
        token = key or (self.keys[role] if role else None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        signer = self.signers.get(token or "")
        return httpx.Client(base_url=self.url, headers=headers, timeout=60,
                            transport=SigningTransport(signer) if signer else None)

    def onboard(self, role: str, name: str) -> dict[str, Any]:
        key = EthAccount.create()
        with self.client("exchange") as ex:
            r = ex.post("/accounts", json={"role": role, "name": name, **make_binding(key, self.domain, role, name)})
            assert r.status_code == 201, r.text
        self.signers[r.json()["api_key"]] = key
        return dict(r.json())


def cli_account(api: Api, env: dict[str, str], role: str) -> dict[str, Any]:
    """`provex accounts create` with the holder's binding (the holder's key stays here, in `api.signers`)."""
    key, name = EthAccount.create(), f"bench {role}"
    provex = Path(sys.executable).with_name("provex")
    out = subprocess.run([str(provex), "accounts", "create", "--role", role, "--name", name, "--binding", "-",
                          "--json"], env=env, capture_output=True, check=True, cwd=ROOT,
                         input=json.dumps(make_binding(key, api.domain, role, name)).encode())
    acct = dict(json.loads(out.stdout))
    api.signers[acct["api_key"]] = key
    return acct


def wait_confirmed(api: Api, key: str) -> None:
    deadline = time.monotonic() + 60
    with api.client(key=key) as c:
        while c.get("/accounts/me").json()["chain_state"] != "confirmed":
            if time.monotonic() > deadline:
                raise TimeoutError("account setup not confirmed")
            time.sleep(0.05)


def setup(api: Api, env: dict[str, str], buyers: int) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    for role in ("authority", "exchange"):
        acct = cli_account(api, env, role)
        api.keys[role], api.ids[role] = acct["api_key"], acct["id"]
    for role in ("authority", "exchange"):
        wait_confirmed(api, api.keys[role])
    keys: list[str] = []
    for role in ("operator", "provider"):
        r = api.onboard(role, f"bench {role}")
        api.keys[role], api.ids[role] = r["api_key"], r["id"]
    made = [api.onboard("buyer", f"bench buyer {i}") for i in range(buyers)]
    with api.client("exchange") as ex:
        for r in made:
            keys.append(r["api_key"])
            wait_confirmed(api, r["api_key"])
            assert ex.post("/dev/mint", json={"account_id": r["id"], "amount_fen": 10**12}).status_code == 200
        wait_confirmed(api, api.keys["operator"])
    product = make_product(api, stage="listed", provider_ids=[api.ids["provider"]])  # type: ignore[arg-type]
    body = {"kind": "metered", "basis": "cost", "tiers": [{"min_quantity": 1, "unit_price_fen": 7},
                                                          {"min_quantity": 1000, "unit_price_fen": 5}],
            "split": {"providers": [{"account_id": api.ids["provider"], "bps": 3333}], "operator": 3333,
                      "exchange": 3334},
            "terms": {"purposes": ["bench"], "query_kinds": ["count"], "columns": ["county"]}}
    with api.client("operator") as op:
        r = op.post(f"/products/{product['id']}/offers", json=body)
        assert r.status_code == 201, r.text
        offer = r.json()
    return product, offer, keys


def purchases(api: Api, offer_id: str, keys: list[str], seconds: float) -> dict[str, Any]:
    """One thread per buyer, each buying licenses back to back with a fresh Idempotency-Key."""
    done: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(key: str) -> None:
        with api.client(key=key) as c:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                r = c.post("/orders", json={"offer_id": offer_id, "quantity": 1001},
                           headers={"Idempotency-Key": str(uuid.uuid4())})
                with lock:
                    if r.status_code == 201:
                        done.append((time.perf_counter() - t0) * 1000)
                    else:
                        errors.append(f"{r.status_code} {r.text[:200]}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    done.sort()
    return {"purchases": len(done), "errors": len(errors), "first_error": errors[0] if errors else None,
            "per_s": round(len(done) / elapsed, 2),
            "p50_ms": round(done[len(done) // 2], 1) if done else None,
            "p99_ms": round(done[max(0, int(len(done) * 0.99) - 1)], 1) if done else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short phases (under a minute in all)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per phase")
    ap.add_argument("--buyers", type=int, default=4, help="concurrent purchasing buyers (one chain account each)")
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent quote clients")
    args = ap.parse_args()
    seconds = args.seconds or (6.0 if args.quick else 30.0)
    with tempfile.TemporaryDirectory(prefix="provex-bench-trading-") as tmp:
        home = Path(tmp)
        db_url = f"sqlite:///{home / 'bench.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
        env.update(PROVEX_HOME=str(home), PROVEX_DATABASE_URL=db_url, PROVEX_KEYSTORE_SCRYPT_N="1024")
        t0 = time.perf_counter()
        proc, url = start_api(home, db_url)
        api = Api(url)
        try:
            product, offer, keys = setup(api, env, args.buyers)
            print(f"setup in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            buys = purchases(api, offer["id"], keys, seconds)
            print(f"purchases: {buys}", file=sys.stderr)
            path = f"/products/{product['id']}/quote"
            quotes = asyncio.run(drive(url, keys[0], lambda rng: (path, {"offer_id": offer["id"],
                                                                          "quantity": rng.randrange(1, 5000)}),
                                       seconds, args.concurrency, proc.pid))
            print(f"quotes: {quotes}", file=sys.stderr)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    chain = purchase_paths(args.quick)  # chain level, no API: relayed vs direct purchases
    print(json.dumps({"bench": "trading", "seconds_per_phase": seconds, "buyers": args.buyers,
                      "purchases_per_s": buys["per_s"], "purchase_p50_ms": buys["p50_ms"],
                      "purchase_errors": buys["errors"], "purchase_first_error": buys["first_error"],
                      "quotes_per_s": quotes["rps"],
                      "quote_p50_ms": quotes["p50_ms"], "quote_errors": quotes["errors"], **chain}))


if __name__ == "__main__":
    main()
