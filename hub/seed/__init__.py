"""Loading master data (categories, agencies, holidays) from the files beside this."""
import csv
import os
import re
import unicodedata
from datetime import date
from pathlib import Path

import sqlalchemy as sa
import yaml

from hub.models import Agency, Category, Holiday

HERE = Path(os.environ.get("HUB_SEED_DIR") or Path(__file__).parent)


def _load(name: str) -> dict:
    with open(HERE / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _upsert(session, model, key: str, rows: list[dict]) -> int:
    """Insert new rows, update changed ones; never delete (a missing row in a file must
    not orphan reports that use it)."""
    existing = {getattr(o, key): o for o in session.execute(sa.select(model)).scalars()}
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            session.add(model(**row))
        else:
            for k, v in row.items():
                setattr(obj, k, v)
    session.flush()
    return len(rows)


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def regions() -> list[dict]:
    """Every province and regency/city by Kemendagri code (regions.csv: code, parent,
    name; provinces first)."""
    with open(HERE / "regions.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def regional_agencies(listed: list[dict]) -> list[dict]:
    """The regional governments the agency file does not list, one per Kemendagri region:
    `prov-<name>`, `kab-<name>` or `kota-<name>`. A region the file lists (by
    region_code) keeps the file's code and name, which are stable forever."""
    by_region = {a["region_code"]: a["code"] for a in listed if a.get("region_code")}
    taken = {a["code"] for a in listed}
    added = []
    for region in regions():
        code, parent, name = region["code"], region["parent"] or None, region["name"]
        if code in by_region:
            continue
        if parent is None:
            agency = {"code": f"prov-{slug(name)}", "level": "province",
                      "name": f"Pemerintah Provinsi {name}"}
        elif name.startswith("Kota "):
            agency = {"code": f"kota-{slug(name[5:])}", "level": "city",
                      "name": f"Pemerintah {name}"}
        else:
            agency = {"code": f"kab-{slug(name.removeprefix('Kabupaten '))}",
                      "level": "regency", "name": f"Pemerintah {name}"}
        if agency["code"] in taken:  # the same name in two provinces
            agency["code"] += f"-{code.replace('.', '')}"
        agency.update(parent_code=by_region.get(parent) if parent else None,
                      region_code=code)
        by_region[code] = agency["code"]
        taken.add(agency["code"])
        added.append(agency)
    return added


def seed_all(session) -> dict:
    cats = [{"code": c["code"], "name": c["name"], "name_en": c.get("name_en"),
             "parent_code": c.get("parent")} for c in _load("categories.yaml")["categories"]]
    listed = _load("agencies.yaml")["agencies"]
    ags = [{"code": a["code"], "name": a["name"], "level": a["level"],
            "parent_code": a.get("parent"), "region_code": a.get("region_code")}
           for a in listed]
    # Regional governments first, units after: a unit's parent must exist before it.
    regional = regional_agencies(listed)
    ags = [a for a in ags if a["level"] != "unit"] + regional + \
        [a for a in ags if a["level"] == "unit"]
    counts = {"categories": _upsert(session, Category, "code", cats),
              "agencies": _upsert(session, Agency, "code", ags)}
    have = set(session.execute(sa.select(Holiday.date).where(Holiday.agency_code.is_(None)))
               .scalars())
    added = 0
    for h in _load("holidays.yaml")["holidays"]:
        day = h["date"] if isinstance(h["date"], date) else date.fromisoformat(h["date"])
        if day not in have:
            session.add(Holiday(date=day, name=h["name"], kind=h.get("kind", "national")))
            have.add(day)
            added += 1
    counts["holidays_added"] = added
    return counts
