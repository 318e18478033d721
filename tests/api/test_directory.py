"""The agency directory: every regional government by Kemendagri code, and the units an
agency adds below itself (API and CLI)."""
import csv

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Agency
from hub.seed import HERE


@pytest.fixture(autouse=True)
def _directory_as_seeded(app):
    """The directory is kept between tests (master data): take the added units away."""
    with app.app_context():
        before = set(db.session.execute(sa.select(Agency.code)).scalars())
    yield
    with app.app_context():
        added = set(db.session.execute(sa.select(Agency.code)).scalars()) - before
        # Deepest first: a unit's children go before it.
        for code in sorted(added, key=lambda c: -c.count(".")):
            db.session.execute(sa.delete(Agency).where(Agency.code == code))
        db.session.commit()


def _regions():
    with open(HERE / "regions.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def test_every_province_and_regency_is_an_agency_by_its_kemendagri_code(client):
    agencies = client.get("/api/v1/agencies").get_json()["items"]
    by_region = {a["region_code"]: a for a in agencies if a["region_code"]}
    regions = _regions()
    assert len(regions) == 38 + 514
    for region in regions:
        agency = by_region[region["code"]]
        assert agency["level"] == ("province" if not region["parent"] else
                                   "city" if region["name"].startswith("Kota ") else "regency")
        if region["parent"]:
            assert agency["parent"] == by_region[region["parent"]]["code"]
    # The codes the agency file gives keep their names; the rest are generated.
    assert by_region["34.04"]["code"] == "kab-sleman"
    assert by_region["31.74"]["code"] == "kota-jakarta-selatan"
    assert by_region["53.01"] == {"code": "kab-kupang", "name": "Pemerintah Kabupaten Kupang",
                                  "level": "regency", "parent": "prov-ntt",
                                  "region_code": "53.01"}


def test_an_agency_adds_a_unit_below_itself_only(make_caller, client):
    sleman = make_caller("kab-sleman", "reports:read mappings:write")
    body = {"code": "kab-sleman.mpp", "parent": "kab-sleman",
            "name": "Mal Pelayanan Publik"}
    made = sleman.post("/agencies", json=body)
    assert made.status_code == 201, made.get_json()
    assert made.get_json() == {**body, "level": "unit", "region_code": None}
    listed = {a["code"] for a in client.get("/api/v1/agencies").get_json()["items"]}
    assert "kab-sleman.mpp" in listed
    assert sleman.post("/agencies", json=body).status_code == 409
    # Below one of its own units: fine. Below another agency, or a code that hides where
    # it belongs: refused, naming the field.
    deeper = sleman.post("/agencies", json={"code": "kab-sleman.mpp.bidang-perizinan",
                                            "parent": "kab-sleman.mpp", "name": "Bidang"})
    assert deeper.status_code == 201
    other = sleman.post("/agencies", json={**body, "code": "kab-bantul.x",
                                           "parent": "kab-bantul"})
    assert other.status_code == 422 and "parent" in other.get_json()["errors"]
    bad = sleman.post("/agencies", json={**body, "code": "dinas-baru"})
    assert bad.status_code == 422 and "code" in bad.get_json()["errors"]
    reader = make_caller("kab-sleman", "reports:read")
    assert reader.post("/agencies", json=body).status_code == 403


def test_hub_agency_add_from_the_command_line(app, runner):
    ok = runner.invoke(args=["hub", "agency", "add", "--code", "kota-yogyakarta.dpmptsp",
                             "--name", "DPMPTSP Kota Yogyakarta",
                             "--parent", "kota-yogyakarta"])
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        unit = db.session.get(Agency, "kota-yogyakarta.dpmptsp")
        assert (unit.level, unit.parent_code) == ("unit", "kota-yogyakarta")
    bad = runner.invoke(args=["hub", "agency", "add", "--code", "x", "--name", "X",
                              "--parent", "kota-yogyakarta"])
    assert bad.exit_code != 0 and "code" in bad.output
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).where(
            Agency.code == "x")).scalar() == 0
