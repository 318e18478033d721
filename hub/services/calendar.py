"""The holiday calendar behind the SLA clocks: national holidays from a YAML file, and an
agency's own holidays (a regency's anniversary, a local cuti bersama), which the units
below it inherit. Nothing here commits."""
from datetime import date
from pathlib import Path

import sqlalchemy as sa
import yaml

from hub.errors import Problem
from hub.models import Holiday
from hub.services import storage

SEED_FILE = Path(__file__).resolve().parent.parent / "seed" / "holidays.yaml"
AGENCY_KIND = "agency"


class CalendarFileError(ValueError):
    """A holidays file that cannot be loaded; nothing of it was written."""


def _day(value) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def read_file(path=None) -> list[dict]:
    """[{date, name, kind}] from a holidays YAML file (the seed file's shape), checked
    whole before anything is written."""
    path = Path(path or SEED_FILE)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 02-30
        raise CalendarFileError(f"{path}: {exc}") from exc
    items = doc.get("holidays") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise CalendarFileError(f"{path}: expected a top-level 'holidays:' list")
    rows, seen = [], set()
    for n, item in enumerate(items, 1):
        where = f"{path}: holiday #{n}"
        if not isinstance(item, dict):
            raise CalendarFileError(f"{where}: expected a mapping with date and name")
        try:
            day = _day(item.get("date"))
        except ValueError:
            raise CalendarFileError(
                f"{where}: date {item.get('date')!r} is not YYYY-MM-DD") from None
        name, kind = item.get("name"), item.get("kind", "national")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise CalendarFileError(f"{where} ({day}): name must be 1..200 characters")
        if not isinstance(kind, str) or not 1 <= len(kind) <= 20:
            raise CalendarFileError(f"{where} ({day}): kind must be 1..20 characters")
        if day in seen:
            raise CalendarFileError(f"{where}: {day} is listed twice")
        seen.add(day)
        rows.append({"date": day, "name": name.strip(), "kind": kind})
    return rows


def load_national(session, rows: list[dict]) -> dict:
    """Insert new national holidays and update the names and kinds of known ones. Never
    deletes: a date missing from a file may be an older year the file dropped."""
    existing = {h.date: h for h in session.execute(
        sa.select(Holiday).where(Holiday.agency_code.is_(None))).scalars()}
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for row in rows:
        holiday = existing.get(row["date"])
        if holiday is None:
            session.add(Holiday(agency_code=None, **row))
            counts["added"] += 1
        elif (holiday.name, holiday.kind) != (row["name"], row["kind"]):
            holiday.name, holiday.kind = row["name"], row["kind"]
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    session.flush()
    return counts


def agency_holidays(session, agency_codes, year: int | None = None) -> list[Holiday]:
    """National holidays and those of the given agencies, by date."""
    stmt = sa.select(Holiday).where(sa.or_(Holiday.agency_code.is_(None),
                                           Holiday.agency_code.in_(list(agency_codes))))
    if year is not None:
        stmt = stmt.where(Holiday.date >= date(year, 1, 1), Holiday.date <= date(year, 12, 31))
    return session.execute(stmt.order_by(Holiday.date, Holiday.agency_code)).scalars().all()


def add_agency_holiday(session, agency_code: str, day: date, name: str,
                       kind: str = AGENCY_KIND) -> Holiday:
    """A new holiday of one agency; the same date twice is 409 (also when two requests
    race: the unique key decides, not a read before the write)."""
    new_id = session.execute(
        storage.insert(session, Holiday)
        .values(agency_code=agency_code, date=day, name=name, kind=kind)
        .on_conflict_do_nothing(index_elements=["date", "agency_code"])
        .returning(Holiday.id)).scalar_one_or_none()
    if new_id is None:
        raise Problem(409, "Holiday exists",
                      f"{day} is already a holiday of '{agency_code}'; delete it first to "
                      "rename it.", slug="holiday-exists")
    return session.get(Holiday, new_id)


def remove_agency_holiday(session, agency_code: str, day: date) -> bool:
    holiday = session.execute(sa.select(Holiday).where(
        Holiday.agency_code == agency_code, Holiday.date == day)).scalar_one_or_none()
    if holiday is None:
        return False
    session.delete(holiday)
    session.flush()
    return True
