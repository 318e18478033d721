"""Master data: the seed files are consistent, and seeding twice changes nothing."""
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Agency, Category, Holiday
from hub.seed import _load, seed_all


def test_seed_files_are_consistent():
    for name, key in (("categories.yaml", "categories"), ("agencies.yaml", "agencies")):
        rows = _load(name)[key]
        codes = [r["code"] for r in rows]
        assert len(codes) == len(set(codes)), f"duplicate codes in {name}"
        seen = set()
        for row in rows:
            assert row["parent"] is None or row["parent"] in seen, row
            seen.add(row["code"])
    levels = {a["level"] for a in _load("agencies.yaml")["agencies"]}
    assert levels <= {"ministry", "institution", "province", "regency", "city", "unit"}


def test_seed_is_idempotent_and_real_sized(app):
    with app.app_context():
        before = (db.session.query(Category).count(), db.session.query(Agency).count(),
                  db.session.query(Holiday).count())
        counts = seed_all(db.session)
        db.session.commit()
        after = (db.session.query(Category).count(), db.session.query(Agency).count(),
                 db.session.query(Holiday).count())
        assert before == after
        assert counts["holidays_added"] == 0
        assert after[0] >= 80 and after[1] >= 150
        sleman_units = db.session.execute(sa.select(sa.func.count()).where(
            Agency.parent_code == "kab-sleman")).scalar()
        assert sleman_units >= 20
        assert db.session.get(Agency, "kab-sleman").region_code == "34.04"
