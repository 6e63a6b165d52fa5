"""Catalog benchmark: N products, concurrent searches and product reads over real HTTP (uvicorn).

Usage: `python bench/catalog.py --quick` (10k products, under two minutes) or without `--quick` (100k);
`--workers 2` runs every phase with one API worker, then with two, and reports the ratio.
The products are bulk-loaded into the database (they are catalog rows; chain writes are measured
elsewhere). The chain is one Anvil the bench starts, deployed once (`provex chain deploy`); the API
runs as `uvicorn --workers N` with PROVEX_WORKER=external (no chain work in API processes).
Phases: `search` (the original mix: one word, first page, newest first), `search_realistic` (1-3
words that must all match, each of the six orders, filters sometimes, sessions that follow
`next_cursor` up to 50 pages deep), `product_reads`.
Last line: JSON with requests/s and p50/p99 latency (ms) per phase and worker count.
Targets on 2 cores at 100k products and 16 clients: both search mixes p99 < 50 ms; >= 1,000 req/s with
2 workers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import httpx
import sqlalchemy as sa
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.client.signer import make_binding  # noqa: E402
from ledger.anvil import DEV_DEPLOYER_KEY, Anvil, free_port  # noqa: E402
from ledger.statements import StatementDomain  # noqa: E402
from registry.accounts import create_account  # noqa: E402
from registry.bindings import SignedBinding  # noqa: E402
from registry.db import make_engine, migrate, session_scope  # noqa: E402
from registry.models import Authorization, Product, Resource, Role  # noqa: E402

WORDS = ["grassland", "rainfall", "livestock", "wheat", "corn", "traffic", "energy", "mining", "tourism",
         "water", "soil", "forest", "herd", "wind", "solar", "freight", "retail", "health", "school", "housing"]
SECTORS = ["agriculture", "ecology", "transport", "energy", "tourism", "health"]
REGIONS = ["150100", "150200", "152500", "110000", "150600"]


def binding_of(key: LocalAccount, domain: StatementDomain, role: str, name: str) -> SignedBinding:
    return SignedBinding.of(make_binding(key, domain, role, name), role, name, domain)


def load(db_url: str, n: int) -> tuple[str, list[str]]:
    """Accounts, one resource and authorization, then `n` listed products; returns buyer key and ids."""
    engine = make_engine(db_url)
    migrate(engine)
    domain = StatementDomain(31337, "0x" + "00" * 20)  # no chain here: accounts bound at a stand-in deployment
    with session_scope(engine) as s:
        operator, _ = create_account(s, None, role=Role.OPERATOR, name="bench operator",
                                     binding=binding_of(EthAccount.create(), domain, "operator", "bench operator"))
        _, buyer_key = create_account(s, None, role=Role.BUYER, name="bench buyer",
                                      binding=binding_of(EthAccount.create(), domain, "buyer", "bench buyer"))
        res = Resource(id=str(uuid.uuid4()), code="PXR-BENCH-1", name="r", department="d", sector="agriculture",
                       region_code="150100", classification="general", content_hash="0" * 64,
                       column_schema=[], update_frequency="daily", volume=1, metadata_hash="0" * 64,
                       registered_by=operator.id)
        authz = Authorization(id=str(uuid.uuid4()), code="PXA-BENCH-1", authority_id=operator.id,
                              operator_id=operator.id, resource_ids=[res.id], purposes=["bench"],
                              purpose_hash="0" * 64, valid_from=0, valid_until=2**31 - 1, max_classification="general")
        s.add(res)
        s.add(authz)
        op_id, authz_id, res_id = operator.id, authz.id, res.id
    rng = random.Random(7)
    ids: ClassVar[list[str]] = []  # set once the products are loaded
    table = sa.Table(Product.__tablename__, Product.metadata)
    base = {"operator_id": op_id, "authorization_id": authz_id, "resource_ids": [res_id], "provider_ids": [],
            "publisher": "bench operator", "update_frequency": "monthly", "license": "standard",
            "source_statement": "bench", "authorization_basis": "PXA-BENCH-1", "classification": "general",
            "scale": "1k rows", "columns": [{"name": "v", "type": "number", "min": 0, "max": 1}],
            "sample": [], "quality": {"completeness": 1, "timeliness": 1, "accuracy": 1}, "offers": [],
            "status": "listed", "version": 1, "metadata_hash": "0" * 64, "chain_state": "confirmed",
            "temporal_start": None, "temporal_end": None}
    chunk = 5000
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for start in range(0, n, chunk):
            rows = []
            for i in range(start, min(n, start + chunk)):
                pid = str(uuid.uuid4())
                ids.append(pid)
                kw = rng.sample(WORDS, 3)
                rows.append({**base, "id": pid, "code": f"PX-BENCH-{i:07d}",
                             "title": f"{kw[0].title()} {kw[1]} statistics {i}",
                             "description": f"Monthly {kw[0]} and {kw[2]} figures for region {i % 97}.",
                             "sector": rng.choice(SECTORS), "keywords": kw, "keywords_text": " ".join(kw),
                             "region_code": rng.choice(REGIONS), "price_from_fen": rng.randrange(100, 10**6),
                             "created_at": now, "updated_at": now})
            conn.execute(sa.insert(table.metadata.tables["products"]), rows)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE products")  # as autovacuum would after a bulk load: plans need stats
    engine.dispose()
    return buyer_key, ids


def api_env(home: Path, db_url: str, rpc_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
    env.update(PROVEX_HOME=str(home), PROVEX_DATABASE_URL=db_url, PROVEX_RPC_URL=rpc_url,
               PROVEX_DEPLOYER_KEY=DEV_DEPLOYER_KEY, PROVEX_WORKER="external", PROVEX_KEYSTORE_SCRYPT_N="1024",
               PROVEX_DB_POOL_SIZE="20")
    return env


def deploy(home: Path, db_url: str, rpc_url: str) -> None:
    """`provex chain deploy` once, before any API worker starts."""
    provex = Path(sys.executable).with_name("provex")
    with open(home / "deploy.log", "wb") as log:
        subprocess.run([str(provex), "chain", "deploy", "--json"], cwd=ROOT, env=api_env(home, db_url, rpc_url),
                       stdout=log, stderr=subprocess.STDOUT, check=True, timeout=300)


def start_api(home: Path, db_url: str, rpc_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    uvicorn = Path(sys.executable).with_name("uvicorn")
    proc = subprocess.Popen([str(uvicorn), "--factory", "api.app:app_from_env", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log",
                             "--workers", str(workers)],
                            cwd=ROOT, env=api_env(home, db_url, rpc_url), stdout=subprocess.DEVNULL,
                            stderr=open(home / f"api-{workers}.log", "wb"))  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            # every worker answers: several /health in a row (each connection may land on another worker)
            if all(httpx.get(url + "/health", timeout=2).status_code == 200 for _ in range(4 * workers)):
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError((home / f"api-{workers}.log").read_text()[-2000:])


def _cpu_seconds(root: int) -> float:
    """User + system CPU seconds of `root` and its descendants (uvicorn workers), Anvil excluded."""
    stats: dict[int, tuple[int, str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        stats[int(entry.name)] = (int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats and stats[pid][1] != "anvil":
            total += stats[pid][2]
            todo += [child for child, (ppid, _, _) in stats.items() if ppid == pid]
    return total


def _summary(latencies: list[float], errors: int, elapsed: float, server_cpu: float,
             client_cpu: float) -> dict[str, float]:
    latencies.sort()
    n = len(latencies)
    return {"requests": n, "errors": errors, "rps": round(n / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 2), "p99_ms": round(latencies[int(n * 0.99) - 1], 2),
            # CPU accounting (robust on a shared machine where wall-clock figures are noisy):
            "server_cpu_ms_per_req": round(server_cpu * 1000 / n, 3),
            "client_cpu_ms_per_req": round(client_cpu * 1000 / n, 3),
            "client_cpu_share": round(client_cpu / (client_cpu + server_cpu), 3) if server_cpu + client_cpu else 0}


class Mix:
    """A client's request stream: `next()` gives the next path and query, `seen()` gets each response body."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def next(self) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def seen(self, body: bytes) -> None:
        """A response body (a mix that follows cursors reads it)."""


class CurrentMix(Mix):
    """The original mix: one word, first page, newest first; a filter sometimes."""

    def next(self) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"q": self.rng.choice(WORDS), "limit": 20}
        roll = self.rng.random()
        if roll < 0.3:
            params["sector"] = self.rng.choice(SECTORS)
        elif roll < 0.5:
            params["region_code"] = self.rng.choice(REGIONS)
        elif roll < 0.6:
            params["price_min"], params["price_max"] = 1000, 200000
        return "/catalog", params


SORTS = ("newest", "oldest", "title", "title_desc", "price", "price_desc")
SESSION_PAGES = (1, 1, 2, 3, 5, 10, 25, 50)  # how far a browsing session pages (deep pages via the cursor)


class RealisticMix(Mix):
    """Browsing sessions: 1-3 words that must all match (none at times), any of the six orders, a filter
    sometimes, then the following pages through `next_cursor`, up to 50 pages deep."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.query: dict[str, Any] = {}
        self.cursor: str | None = None
        self.pages_left = 0

    def _new_query(self) -> dict[str, Any]:
        rng = self.rng
        params: dict[str, Any] = {"sort": rng.choice(SORTS), "limit": 20}
        words = rng.choice((0, 1, 1, 2, 2, 3))
        if words:
            params["q"] = " ".join(rng.sample(WORDS, words))
        roll = rng.random()
        if roll < 0.2:
            params["sector"] = rng.choice(SECTORS)
        elif roll < 0.3:
            params["region_code"] = rng.choice(REGIONS)
        elif roll < 0.4:
            params["price_min"], params["price_max"] = 1000, 200000
        return params

    def next(self) -> tuple[str, dict[str, Any]]:
        if self.pages_left <= 0 or self.cursor is None:
            self.query, self.cursor, self.pages_left = self._new_query(), None, self.rng.choice(SESSION_PAGES)
        self.pages_left -= 1
        return "/catalog", {**self.query, **({"cursor": self.cursor} if self.cursor else {})}

    def seen(self, body: bytes) -> None:
        at = body.rfind(b'"next_cursor":')
        self.cursor = json.loads(body[at + 14:-1]) if at >= 0 else None


class ReadsMix(Mix):
    """Product reads by id."""

    ids: ClassVar[list[str]] = []  # set once the products are loaded

    def next(self) -> tuple[str, dict[str, Any]]:
        return f"/products/{self.rng.choice(self.ids)}", {}


async def drive_httpx(url: str, key: str, mix: type[Mix], seconds: float, concurrency: int,
                      server_pid: int) -> dict[str, float]:
    """The original load generator (httpx.AsyncClient): heavy on the client side."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=30) as client:
        async def worker(seed: int) -> None:
            nonlocal errors
            m = mix(random.Random(seed))
            while time.perf_counter() < stop_at:
                path, params = m.next()
                t0 = time.perf_counter()
                r = await client.get(path, params=params)
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    errors += 1
                m.seen(r.content)

        cpu0, scpu0, t0 = time.process_time(), _cpu_seconds(server_pid), time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - t0
        cpu, scpu = time.process_time() - cpu0, _cpu_seconds(server_pid) - scpu0
    return _summary(latencies, errors, elapsed, scpu, cpu)


async def drive(url: str, key: str, mix: type[Mix], seconds: float, concurrency: int,
                server_pid: int) -> dict[str, float]:
    """A light load generator: one HTTP/1.1 keep-alive connection per client on raw asyncio streams, so
    that the client takes as little as possible of the CPU it shares with the server."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = f" HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()

    async def worker(seed: int) -> None:
        nonlocal errors
        m = mix(random.Random(seed))
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                path, params = m.next()
                target = (path + "?" + urlencode(params)) if params else path
                t0 = time.perf_counter()
                writer.write(b"GET " + target.encode() + head)
                header = await reader.readuntil(b"\r\n\r\n")
                lower = header.lower()
                at = lower.find(b"\r\ncontent-length:")
                if at < 0:
                    raise RuntimeError(f"no content-length: {header!r}")
                length = int(lower[at + 17:lower.index(b"\r\n", at + 2)])
                body = await reader.readexactly(length)
                latencies.append((time.perf_counter() - t0) * 1000)
                if header[9:12] != b"200":
                    errors += 1
                m.seen(body)
        finally:
            writer.close()

    cpu0, scpu0, t0 = time.process_time(), _cpu_seconds(server_pid), time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - t0
    cpu, scpu = time.process_time() - cpu0, _cpu_seconds(server_pid) - scpu0
    return _summary(latencies, errors, elapsed, scpu, cpu)


PHASES: dict[str, type[Mix]] = {"search": CurrentMix, "search_realistic": RealisticMix, "product_reads": ReadsMix}


def run_phases(home: Path, db_url: str, rpc_url: str, key: str, workers: int,
               args: argparse.Namespace, seconds: float) -> dict[str, dict[str, float]]:
    """Every phase against `uvicorn --workers <workers>`."""
    proc, url = start_api(home, db_url, rpc_url, workers)
    run = drive if args.client == "raw" else drive_httpx
    results: dict[str, dict[str, float]] = {}
    try:
        asyncio.run(run(url, key, RealisticMix, 2.0, args.concurrency, proc.pid))  # warm-up (every worker)
        for name, mix in PHASES.items():
            results[name] = asyncio.run(run(url, key, mix, seconds, args.concurrency, proc.pid))
            print(f"workers={workers} {name}: {results[name]}", file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait(20)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10k products, short phases")
    ap.add_argument("--products", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None, help="seconds per phase")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, default=1, help="API worker processes; above 1, every phase also "
                    "runs with one worker first, and the ratio is reported")
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="load generator: raw HTTP/1.1 keep-alive sockets (light) or httpx (the original)")
    args = ap.parse_args()
    n = args.products or (10_000 if args.quick else 100_000)
    seconds = args.seconds or (8.0 if args.quick else 20.0)
    counts = sorted({1, args.workers})
    with tempfile.TemporaryDirectory(prefix="provex-bench-") as tmp, Anvil(log_file=Path(tmp) / "anvil.log") as anvil:
        home = Path(tmp)
        db_url = args.database_url or f"sqlite:///{home / 'bench.db'}"
        t0 = time.perf_counter()
        key, ReadsMix.ids = load(db_url, n)
        load_s = time.perf_counter() - t0
        print(f"loaded {n} products in {load_s:.1f}s", file=sys.stderr)
        deploy(home, db_url, anvil.url)
        runs = {w: run_phases(home, db_url, anvil.url, key, w, args, seconds) for w in counts}
    top = runs[counts[-1]]
    ratio = {f"{p}_rps": round(top[p]["rps"] / runs[1][p]["rps"], 2) for p in PHASES} if len(counts) > 1 else None
    print(json.dumps({"bench": "catalog", "products": n, "concurrency": args.concurrency,
                      "database": "postgresql" if db_url.startswith("postgresql") else "sqlite",
                      "client": args.client, "cores": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
                      "server": {"workers": counts[-1], "loop": "uvloop" if find_spec("uvloop") else "asyncio",
                                 "http": "httptools" if find_spec("httptools") else "h11"},
                      "load_seconds": round(load_s, 1), **top,  # the phases with the most workers
                      "by_workers": {str(w): r for w, r in runs.items()},
                      f"ratio_{counts[-1]}_workers_to_1": ratio,
                      "targets": {"search_p99_ms": 50, "search_realistic_p99_ms": 50, "rps_2_workers": 1000}}))


if __name__ == "__main__":
    main()
