"""Loading master data (categories, agencies, holidays) from the YAML files beside this."""
import os
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


def seed_all(session) -> dict:
    cats = [{"code": c["code"], "name": c["name"], "name_en": c.get("name_en"),
             "parent_code": c.get("parent")} for c in _load("categories.yaml")["categories"]]
    ags = [{"code": a["code"], "name": a["name"], "level": a["level"],
            "parent_code": a.get("parent"), "region_code": a.get("region_code")}
           for a in _load("agencies.yaml")["agencies"]]
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
