"""Synthetic public datasets from the seed policies' scenarios, generated deterministically.

* Xilingol livestock ear-tag telemetry by banner, month and species (锡林郭勒盟牲畜耳标监测), split over
  three provider nodes (the east, west and south pastoral stations each hold their own banners);
* Hohhot district electricity and renewable consumption (呼和浩特分区用电与绿电消纳), monthly;
* the Horinger data-centre cluster's quarterly energy use by campus and building (和林格尔数据中心集群能耗季报):
  consumption, renewable share and PUE, its own rows (not the monthly district feeders re-labelled);
* Xilingol county clinic visits by age band (旗县卫生院门诊量);
* the Xilingol herder registry: each household's livestock holding (牧户牲畜存栏登记), on a node of its own.

Where rows belong to an identifiable unit, it is the product's privacy-ID column (`privacy_id`): the feeder
of the electricity rows, the clinic of the visit rows; each node then bounds each one's contribution. The
livestock rows carry no animal or herder ID (each month's readings are drawn afresh), so that product keeps
row-level privacy.

Same seed, same bytes: the files' SHA-256 is the resources' content hash, so a rerun registers nothing new.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = 20250308  # the Xilingol data-industry plan's date (锡署办发〔2025〕15号)
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]

EAST = ["锡林浩特市", "东乌珠穆沁旗", "西乌珠穆沁旗", "阿巴嘎旗"]
WEST = ["二连浩特市", "苏尼特左旗", "苏尼特右旗", "镶黄旗"]
SOUTH = ["正镶白旗", "正蓝旗", "太仆寺旗", "多伦县"]
BANNERS = EAST + WEST + SOUTH
SPECIES = {"绵羊": 0.55, "山羊": 0.15, "牛": 0.2, "马": 0.07, "骆驼": 0.03}
WEIGHT = {"绵羊": (48, 9), "山羊": (38, 7), "牛": (430, 70), "马": (350, 45), "骆驼": (520, 60)}
DISTRICTS = ["新城区", "回民区", "玉泉区", "赛罕区", "土默特左旗", "托克托县", "和林格尔县", "清水河县", "武川县"]
SECTORS = {"工业": 9000.0, "商业": 2500.0, "居民": 1800.0, "数据中心": 12000.0}
AGE_BANDS = ["0-14", "15-44", "45-64", "65+"]
QUARTERS = [f"2024-Q{q}" for q in range(1, 5)]
# Campus -> (IT load in MW, design PUE, share of renewables under its green-power contract).
CAMPUSES = {"盛乐云谷园区": (62.0, 1.22, 0.71), "中国移动和林格尔园区": (48.0, 1.25, 0.64),
            "中国电信云计算信息园": (55.0, 1.28, 0.58), "中国联通和林格尔园区": (36.0, 1.30, 0.55),
            "智算中心一期": (80.0, 1.18, 0.78), "金融灾备中心": (14.0, 1.35, 0.42)}
BUILDINGS = 6
QUARTER_HOURS = (2184, 2184, 2208, 2208)  # hours in each quarter of 2024

Row = dict[str, Any]


@dataclass(frozen=True)
class Partition:
    """One provider node's share of a dataset."""

    node_id: str
    name_zh: str
    name_en: str
    path: Path
    rows: int
    sha256: str


@dataclass
class Dataset:
    """A generated dataset: its query columns (bounds, public group-by domains), files and hashes."""

    key: str
    columns: list[dict[str, Any]]
    sample: list[Row]
    rows: int
    sha256: str
    path: Path
    partitions: list[Partition] = field(default_factory=list)


def _livestock(rng: random.Random, banners: list[str]) -> Iterator[Row]:
    for banner in banners:
        herd = rng.randint(55, 95)
        for mi, month in enumerate(MONTHS):
            winter = mi in (0, 1, 10, 11)
            for _ in range(herd):
                species = rng.choices(list(SPECIES), weights=list(SPECIES.values()))[0]
                mean_w, sd_w = WEIGHT[species]
                base_km = {"骆驼": 14.0, "马": 12.0, "牛": 6.0}.get(species, 8.0) * (0.6 if winter else 1.0)
                sick = rng.random() < (0.06 if winter else 0.03)
                yield {"banner": banner, "month": month, "species": species,
                       "daily_distance_km": round(min(40.0, max(0.3, rng.gauss(base_km, base_km * 0.25))), 2),
                       "grazing_hours": round(min(16.0, max(1.0, rng.gauss(6.5 if winter else 10.5, 1.2))), 1),
                       "body_temp_c": round(rng.gauss(39.9 if sick else 38.9, 0.35), 1),
                       "weight_kg": round(max(15.0, rng.gauss(mean_w, sd_w)), 1),
                       "health_alerts": rng.randint(1, 4) if sick else 0}


def _electricity(rng: random.Random) -> Iterator[Row]:
    for district in DISTRICTS:
        size = rng.uniform(0.5, 1.6)
        for mi, month in enumerate(MONTHS):
            season = 1.25 if mi in (0, 1, 11) else (1.1 if mi in (6, 7) else 1.0)
            for sector, base in SECTORS.items():
                for feeder in range(1, 9):
                    mwh = max(50.0, rng.gauss(base * size * season / 8, base * 0.02))
                    share = min(0.95, max(0.1, rng.gauss(0.62 if sector == "数据中心" else 0.38, 0.06)))
                    yield {"district": district, "month": month, "sector": sector, "feeder": f"{district}-F{feeder}",
                           "consumption_mwh": round(mwh, 1), "renewable_mwh": round(mwh * share, 1),
                           "peak_load_mw": round(mwh / 24 / 30 * rng.uniform(1.4, 2.1), 2)}


def _datacenters(rng: random.Random) -> Iterator[Row]:
    """Per campus, quarter and building: the IT load ramps up through the year, cooling (PUE) is worst in
    summer, renewables peak with the spring and autumn wind."""
    for campus, (it_mw, pue0, green0) in CAMPUSES.items():
        for qi, quarter in enumerate(QUARTERS):
            ramp = 1.0 + 0.05 * qi
            pue_q = pue0 + (0.06, 0.0, 0.09, -0.02)[qi]
            green_q = green0 + (-0.05, 0.06, -0.03, 0.04)[qi]
            for b in range(1, BUILDINGS + 1):
                it_load = max(0.5, rng.gauss(it_mw * ramp / BUILDINGS, it_mw * 0.015))
                pue = round(min(1.8, max(1.08, rng.gauss(pue_q, 0.02))), 2)
                mwh = it_load * pue * QUARTER_HOURS[qi] * rng.uniform(0.78, 0.9)
                share = min(0.98, max(0.2, rng.gauss(green_q, 0.03)))
                yield {"campus": campus, "quarter": quarter, "building": f"B{b}", "it_load_mw": round(it_load, 2),
                       "pue": pue, "consumption_mwh": round(mwh, 1), "renewable_mwh": round(mwh * share, 1)}


def _clinics(rng: random.Random) -> Iterator[Row]:
    for county in BANNERS:
        for month in MONTHS:
            for band in AGE_BANDS:
                for clinic in range(1, 5):
                    mean = {"0-14": 40, "15-44": 55, "45-64": 70, "65+": 85}[band] * (1.3 if month < "2024-03" else 1.0)
                    yield {"county": county, "month": month, "age_band": band, "clinic": f"{county}-C{clinic}",
                           "visits": max(0, int(rng.gauss(mean, mean * 0.2))),
                           "chronic_visits": max(0, int(rng.gauss(mean * (0.5 if band == "65+" else 0.2), 4)))}


LIVESTOCK_COLUMNS = [
    {"name": "banner", "type": "string", "group_by": True, "domain": BANNERS},
    {"name": "month", "type": "string", "group_by": True, "domain": MONTHS},
    {"name": "species", "type": "string", "group_by": True, "domain": list(SPECIES)},
    {"name": "daily_distance_km", "type": "number", "min": 0, "max": 40},
    {"name": "grazing_hours", "type": "number", "min": 0, "max": 16},
    {"name": "body_temp_c", "type": "number", "min": 35, "max": 43},
    {"name": "weight_kg", "type": "number", "min": 0, "max": 900},
    {"name": "health_alerts", "type": "integer", "min": 0, "max": 10},
]
ELECTRICITY_COLUMNS = [
    {"name": "district", "type": "string", "group_by": True, "domain": DISTRICTS},
    {"name": "month", "type": "string", "group_by": True, "domain": MONTHS},
    {"name": "sector", "type": "string", "group_by": True, "domain": list(SECTORS)},
    {"name": "consumption_mwh", "type": "number", "min": 0, "max": 20000},
    {"name": "renewable_mwh", "type": "number", "min": 0, "max": 20000},
    {"name": "peak_load_mw", "type": "number", "min": 0, "max": 100},
    {"name": "feeder", "type": "string", "privacy_id": True},
]
DATACENTER_COLUMNS = [
    {"name": "campus", "type": "string", "group_by": True, "domain": list(CAMPUSES)},
    {"name": "quarter", "type": "string", "group_by": True, "domain": QUARTERS},
    {"name": "it_load_mw", "type": "number", "min": 0, "max": 50},
    {"name": "pue", "type": "number", "min": 1, "max": 2},
    {"name": "consumption_mwh", "type": "number", "min": 0, "max": 150000},
    {"name": "renewable_mwh", "type": "number", "min": 0, "max": 150000},
]
CLINIC_COLUMNS = [
    {"name": "county", "type": "string", "group_by": True, "domain": BANNERS},
    {"name": "month", "type": "string", "group_by": True, "domain": MONTHS},
    {"name": "age_band", "type": "string", "group_by": True, "domain": AGE_BANDS},
    {"name": "visits", "type": "integer", "min": 0, "max": 500},
    {"name": "chronic_visits", "type": "integer", "min": 0, "max": 500},
    {"name": "clinic", "type": "string", "privacy_id": True},
]
# The herder registry (牧户牲畜存栏登记): each household's holding by banner, held by the league's livestock registry
# on a node of its own; it backs the verification product (a bank checks a herder's holding before a loan).
REGISTRY_NODE = ("xlg-registry", "锡林郭勒盟牲畜登记中心", "Xilingol livestock registry")
HERDERS_PER_BANNER = 40
HERDER_COLUMNS: list[dict[str, Any]] = [
    {"name": "herder_id", "type": "string"},
    {"name": "banner", "type": "string", "group_by": True, "domain": BANNERS},
    {"name": "sheep", "type": "integer", "min": 0, "max": 20_000},
    {"name": "cattle", "type": "integer", "min": 0, "max": 5_000},
    {"name": "head_count", "type": "integer", "min": 0, "max": 30_000},
]
VERIFY_COLUMNS = ("herder_id", "head_count", "cattle")
VERIFICATION_TERMS = {"key": "herder_id", "claims": [{"column": "head_count", "ops": [">=", "<=", "between"]},
                                                     {"column": "cattle", "ops": [">="]}],
                      "per_minute": 30, "per_day": 500}


def herder_id(banner_index: int, n: int) -> str:
    return f"XL{banner_index + 1:02d}-{n:04d}"


def _herders(rng: random.Random) -> Iterator[Row]:
    for bi, banner in enumerate(BANNERS):
        for n in range(1, HERDERS_PER_BANNER + 1):
            sheep = max(0, int(rng.lognormvariate(5.6, 0.6)))
            cattle = max(0, int(rng.lognormvariate(3.2, 0.8)))
            goats, horses, camels = int(sheep * rng.uniform(0.1, 0.3)), rng.randint(0, 20), rng.randint(0, 6)
            yield {"herder_id": herder_id(bi, n), "banner": banner, "sheep": sheep, "cattle": cattle,
                   "head_count": sheep + cattle + goats + horses + camels}


LIVESTOCK_NODES = [("xlg-east", "东部牧区畜牧工作站", "East pastoral livestock station", EAST),
                   ("xlg-west", "西部牧区畜牧工作站", "West pastoral livestock station", WEST),
                   ("xlg-south", "南部农牧交错区畜牧工作站", "South agro-pastoral livestock station", SOUTH)]


def _write(path: Path, rows: Iterator[Row]) -> tuple[int, str, list[Row]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    n, head = 0, []
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(f, fieldnames=list(row), lineterminator="\n")
                writer.writeheader()
            writer.writerow(row)
            if n < 3:
                head.append(row)
            n += 1
    return n, hashlib.sha256(path.read_bytes()).hexdigest(), head


def single(folder: Path, key: str, columns: list[dict[str, Any]],
            make: Callable[[random.Random], Iterator[Row]], seed: int) -> Dataset:
    path = folder / f"{key}.csv"
    n, digest, head = _write(path, make(random.Random(f"{seed}:{key}")))
    keep = {c["name"] for c in columns if not c.get("privacy_id")}  # the sample never shows a privacy ID
    return Dataset(key, columns, [{k: v for k, v in r.items() if k in keep} for r in head], n, digest, path)


def generate(folder: Path, seed: int = SEED) -> dict[str, Dataset]:
    """Write every dataset under `folder` (CSV, UTF-8) and describe them. Deterministic in `seed`."""
    parts: list[Partition] = []
    sample: list[Row] = []
    whole = hashlib.sha256()
    for node_id, zh, en, banners in LIVESTOCK_NODES:
        path = folder / "livestock" / f"{node_id}.csv"
        n, digest, head = _write(path, _livestock(random.Random(f"{seed}:{node_id}"), banners))
        parts.append(Partition(node_id, zh, en, path, n, digest))
        whole.update(bytes.fromhex(digest))
        sample += head[:1]
    livestock = Dataset("livestock", LIVESTOCK_COLUMNS, sample, sum(p.rows for p in parts), whole.hexdigest(),
                        folder / "livestock", parts)
    return {"livestock": livestock,
            "electricity": single(folder, "electricity", ELECTRICITY_COLUMNS, _electricity, seed),
            "datacenters": single(folder, "datacenters", DATACENTER_COLUMNS, _datacenters, seed),
            "clinics": single(folder, "clinics", CLINIC_COLUMNS, _clinics, seed),
            "herders": single(folder, "herders", HERDER_COLUMNS, _herders, seed)}
