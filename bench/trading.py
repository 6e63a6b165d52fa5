"""Trading benchmark: license purchases per second end to end (HTTP -> order -> buyLicense on chain ->
license), and quotes per second, over a real uvicorn + Anvil.

For each run: purchases/s (one thread per buyer, back to back), quotes/s (asyncio clients), JSON-RPC requests
per purchase and per quote (counted from Anvil's own log of the methods it serves, batch items included:
everything the API asks the chain during the phase, background work too) and API CPU ms per purchase and per
quote (the uvicorn process tree, Anvil excluded). Runs: instant mining, then Anvil at a 1 s block time
(`--block-time-buyers` buyers, since each purchase waits for its block). With `--compare DIR` (a checkout of
the code before, e.g. `git worktree add /tmp/before main~1`) each run is made with DIR's API too, in the same
process, and the after/before ratios are reported.

Usage: `python bench/trading.py --quick [--compare DIR]` (about a minute a run) or without `--quick`.
Setup goes through the API like a user would (CLI bootstrap accounts, resource, authorization, product,
review, listing, a metered offer with a 3-way split, test fen for each buyer).
Last line: JSON with `purchases_per_s` and `quotes_per_s` (instant mining, this tree), the per-run figures
and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
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

from catalog import Mix, _cpu_seconds, drive, free_port  # noqa: E402
from purchase_paths import measure as purchase_paths  # noqa: E402

from api.client.signer import SigningTransport, domain_from, make_binding  # noqa: E402
from ledger.anvil import DEV_DEPLOYER_KEY, find_anvil, wait_for_rpc  # noqa: E402
from tests.utils.builders import make_product  # noqa: E402


class Api:
    """Just what tests.utils.builders needs: role clients and account ids."""

    def __init__(self, url: str, home: Path) -> None:
        self.url = url
        self.home = home  # the serving provider node's work directory goes under it
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


class Chain:
    """An Anvil of the bench's own (optionally with a block time) whose log names every method it serves."""

    METHOD = re.compile(rb"^(eth|net|web3|anvil|evm|debug|txpool)_\w+$", re.M)

    def __init__(self, home: Path, block_time: int) -> None:
        self.log = home / "anvil.log"
        self.url = f"http://127.0.0.1:{free_port()}"
        cmd = [str(find_anvil(None)), "--host", "127.0.0.1", "--port", self.url.rsplit(":", 1)[1]]
        if block_time:
            cmd += ["--block-time", str(block_time)]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
        wait_for_rpc(self.url)

    def requests(self) -> dict[str, int]:
        """JSON-RPC requests served so far, by method."""
        counts: dict[str, int] = {}
        for m in self.METHOD.finditer(self.log.read_bytes()):
            name = m.group(0).decode()
            counts[name] = counts.get(name, 0) + 1
        return counts

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


NATIVE_SIGNING = {"ECC_BACKEND_CLASS": "eth_keys.backends.native.NativeECCBackend"}
"""The compared tree signs as before coincurve was a dependency: eth_keys' pure-Python backend."""


def start_api(root: Path, home: Path, db_url: str, rpc_url: str,
              workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn serving the API of the tree at `root` against the bench's chain (`workers` processes, one of them
    running the chain work: PROVEX_WORKER=inline)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
    if root != ROOT:
        env.update(NATIVE_SIGNING)
    env.update(PROVEX_HOME=str(home), PROVEX_DATABASE_URL=db_url, PROVEX_RPC_URL=rpc_url,
               PROVEX_DEPLOYER_KEY=DEV_DEPLOYER_KEY, PROVEX_KEYSTORE_SCRYPT_N="1024", PROVEX_DB_POOL_SIZE="20",
               PROVEX_NOTICE_DAYS="0",  # listed at once (`builders.approve_and_list`)
               PYTHONPATH=str(root))
    uvicorn = Path(sys.executable).with_name("uvicorn")
    proc = subprocess.Popen([str(uvicorn), "--factory", "api.app:app_from_env", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log",
                             "--workers", str(workers)],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=open(home / "api.log", "wb"))  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError((home / "api.log").read_text()[-2000:])


def cli_account(api: Api, env: dict[str, str], role: str) -> dict[str, Any]:
    """`provex accounts create` with the holder's binding (the holder's key stays here, in `api.signers`)."""
    key, name = EthAccount.create(), f"bench {role}"
    provex = Path(sys.executable).with_name("provex")
    out = subprocess.run([str(provex), "accounts", "create", "--role", role, "--name", name, "--binding", "-",
                          "--json"], env=env, capture_output=True, check=True, cwd=env["PYTHONPATH"],
                         input=json.dumps(make_binding(key, api.domain, role, name)).encode())
    acct = dict(json.loads(out.stdout))
    api.signers[acct["api_key"]] = key
    return acct


def wait_confirmed(api: Api, key: str) -> None:
    deadline = time.monotonic() + 120
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
    pending: list[float] = []  # 202: accepted, the chain's receipt not in yet (the outbox settles it)
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
                    elif r.status_code == 202:
                        pending.append((time.perf_counter() - t0) * 1000)
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
    return {"purchases": len(done), "pending": len(pending), "errors": len(errors),
            "first_error": errors[0] if errors else None,
            "per_s": round(len(done) / elapsed, 2),
            "p50_ms": round(done[len(done) // 2], 1) if done else None,
            "p99_ms": round(done[max(0, int(len(done) * 0.99) - 1)], 1) if done else None}


def per(delta: float, n: int, digits: int = 1) -> float | None:
    return round(delta / n, digits) if n else None


def quote_mix(product_id: str, offer_id: str) -> type[Mix]:
    """Quotes of one offer at random quantities (tier boundaries and remainders included)."""

    class QuoteMix(Mix):
        def next(self) -> tuple[str, dict[str, Any]]:
            return f"/products/{product_id}/quote", {"offer_id": offer_id, "quantity": self.rng.randrange(1, 5000)}

    return QuoteMix


def run(root: Path, block_time: int, buyers: int, seconds: float, concurrency: int, workers: int) -> dict[str, Any]:
    """One chain, one API (of the tree at `root`): set up, then the purchase phase, then the quote phase."""
    with tempfile.TemporaryDirectory(prefix="provex-bench-trading-") as tmp:
        home = Path(tmp)
        db_url = f"sqlite:///{home / 'bench.db'}"
        chain = Chain(home, block_time)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
        env.update(PROVEX_HOME=str(home), PROVEX_DATABASE_URL=db_url, PROVEX_KEYSTORE_SCRYPT_N="1024",
                   PROVEX_RPC_URL=chain.url, PROVEX_DEPLOYER_KEY=DEV_DEPLOYER_KEY, PYTHONPATH=str(root))
        t0 = time.perf_counter()
        proc, url = start_api(root, home, db_url, chain.url, workers)
        api = Api(url, home)
        try:
            product, offer, keys = setup(api, env, buyers)
            print(f"[{root.name} block_time={block_time}] setup in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            rpc0, cpu0 = sum(chain.requests().values()), _cpu_seconds(proc.pid)
            by0 = chain.requests()
            buys = purchases(api, offer["id"], keys, seconds)
            rpc1, cpu1 = sum(chain.requests().values()), _cpu_seconds(proc.pid)
            by1 = chain.requests()
            n = buys["purchases"] + buys["pending"]  # per purchase accepted (201 paid, 202 pending)
            buys.update(rpc_per_purchase=per(rpc1 - rpc0, n), api_cpu_ms_per_purchase=per((cpu1 - cpu0) * 1000, n),
                        rpc_by_method={k: per(v - by0.get(k, 0), n) for k, v in sorted(by1.items())
                                       if v - by0.get(k, 0)})
            print(f"  purchases: {buys}", file=sys.stderr)
            quotes = asyncio.run(drive(url, keys[0], quote_mix(product["id"], offer["id"]), seconds, concurrency,
                                       proc.pid))
            rpc2 = sum(chain.requests().values())
            quotes["rpc_per_quote"] = per(rpc2 - rpc1, int(quotes["requests"]), 3)
            print(f"  quotes: {quotes}", file=sys.stderr)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
            chain.stop()
    return {"purchases_per_s": buys["per_s"], "purchase_p50_ms": buys["p50_ms"], "purchases_pending": buys["pending"],
            "purchase_errors": buys["errors"],
            "purchase_first_error": buys["first_error"], "rpc_per_purchase": buys["rpc_per_purchase"],
            "api_cpu_ms_per_purchase": buys["api_cpu_ms_per_purchase"], "rpc_by_method": buys["rpc_by_method"],
            "quotes_per_s": quotes["rps"], "quote_p50_ms": quotes["p50_ms"], "quote_errors": quotes["errors"],
            "rpc_per_quote": quotes["rpc_per_quote"], "api_cpu_ms_per_quote": quotes["server_cpu_ms_per_req"]}


def ratios(after: dict[str, Any], before: dict[str, Any]) -> dict[str, float | None]:
    keys = ("purchases_per_s", "quotes_per_s", "rpc_per_purchase", "api_cpu_ms_per_purchase", "rpc_per_quote",
            "api_cpu_ms_per_quote")
    return {k: round(after[k] / before[k], 2) if after.get(k) and before.get(k) else None for k in keys}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short phases (about a minute a run)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per phase")
    ap.add_argument("--buyers", type=int, default=4, help="concurrent purchasing buyers (one chain account each)")
    ap.add_argument("--block-time-buyers", type=int, default=16,
                    help="buyers in the 1 s block-time run (each purchase waits for its block)")
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent quote clients")
    ap.add_argument("--api-workers", type=int, default=1, help="uvicorn worker processes of the API")
    ap.add_argument("--compare", type=Path, default=None,
                    help="a checkout of the code before: each run is made with its API too, and ratios reported")
    ap.add_argument("--no-block-time", action="store_true", help="skip the run with Anvil at a 1 s block time")
    ap.add_argument("--no-chain-phase", action="store_true", help="skip bench/purchase_paths.py's chain phase")
    args = ap.parse_args()
    seconds = args.seconds or (6.0 if args.quick else 30.0)
    runs: dict[str, dict[str, Any]] = {}
    plan = [("instant", 0, args.buyers)] + ([] if args.no_block_time else [("block_1s", 1, args.block_time_buyers)])
    for name, block_time, buyers in plan:
        if args.compare is not None:  # before first: warm caches favour neither, the machine's load drifts
            runs[f"before_{name}"] = run(args.compare.resolve(), block_time, buyers, seconds, args.concurrency,
                                               args.api_workers)
        runs[name] = run(ROOT, block_time, buyers, seconds, args.concurrency, args.api_workers)
    out: dict[str, Any] = {"bench": "trading", "seconds_per_phase": seconds, "buyers": args.buyers,
                           "api_workers": args.api_workers,
                           "block_time_buyers": args.block_time_buyers,
                           **{k: v for k, v in runs["instant"].items() if k != "rpc_by_method"}, "runs": runs}
    if args.compare is not None:
        out["after_over_before"] = {name: ratios(runs[name], runs[f"before_{name}"]) for name, _, _ in plan}
    if not args.no_chain_phase:
        out.update(purchase_paths(args.quick))  # chain level, no API: relayed vs direct purchases
    print(json.dumps(out))


if __name__ == "__main__":
    main()
