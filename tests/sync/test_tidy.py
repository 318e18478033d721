"""Local records that almost fit: fixed without losing anything, not failed."""
import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Report, SyncRun
from hub.sync import files
from hub.sync.tidy import tidy_report


def test_a_long_title_is_shortened_and_kept_whole_in_the_body():
    title = "Jalan rusak " * 25  # 300 characters
    payload = {"title": title, "body": "Mohon segera diperbaiki."}
    assert tidy_report(payload) == ["title"]
    assert len(payload["title"]) == 200 and payload["title"].endswith("…")
    assert payload["body"] == f"{title}\n\nMohon segera diperbaiki."
    # Tidying again (a re-read of the same record) changes nothing more.
    again = dict(payload)
    assert tidy_report(again) == [] and again == payload


@pytest.mark.parametrize("lat, lon", [(999, 110.4), ("-", "-"), (0, 0), (-7.7, None),
                                      (float("nan"), 110.4)])
def test_an_unusable_coordinate_pair_is_dropped_and_the_address_kept(lat, lon):
    payload = {"title": "PJU mati", "location": {"text": "Jl. Magelang km 5",
                                                 "lat": lat, "lon": lon}}
    assert tidy_report(payload) == ["location"]
    assert payload["location"] == {"text": "Jl. Magelang km 5"}


def test_good_values_and_defaults():
    payload = {"title": "PJU mati", "body": "", "location": {"lat": "-7.72", "lon": "110.36"}}
    assert tidy_report(payload, {"body": "(tanpa isi)", "category": "lainnya"}) == []
    assert payload == {"title": "PJU mati", "body": "(tanpa isi)", "category": "lainnya",
                       "location": {"lat": "-7.72", "lon": "110.36"}}


def test_a_local_title_longer_than_the_hubs_arrives(app, sim, sleman_doc):
    from hub.sync.runner import run_connector
    with app.app_context():
        conn = files.import_document(db.session, sleman_doc, secrets={"api_key": sim.api_key})
        db.session.commit()
        conn_id = conn.id
    title = ("Lampu penerangan jalan di sepanjang Jl. Kaliurang dari km 5 sampai km 9 "
             "mati total sejak seminggu ") * 3
    sim.control("aduan", {"judul": title[:250], "isi": "Gelap sekali.", "kategori": "PJU",
                          "opd": "DPUPKP"})
    with app.app_context():
        run = db.session.get(SyncRun, run_connector(conn_id, "manual"))
        assert (run.status, run.counts["created"], run.counts.get("tidied")) == \
            ("succeeded", 1, 1), (run.status, run.counts, run.error)
        report = db.session.execute(sa.select(Report)).scalar_one()
        assert len(report.title) == 200 and report.body.startswith(title[:250])
