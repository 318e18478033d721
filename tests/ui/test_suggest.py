"""Mapping suggestions that cannot silently do harm: statuses by meaning, never by
spelling; nothing preselected unless strong and clearly ahead; a ticked row without a
target saves nothing."""
from collections import Counter

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Mapping
from hub.ui import suggest
from tests.ui.conftest import page_csrf
from tests.ui.test_ui import _hold, _import_sleman

STATUSES = [("received", "Diterima"), ("verified", "Terverifikasi"),
            ("dispositioned", "Didisposisi"), ("in_progress", "Sedang diproses"),
            ("resolved", "Selesai"), ("closed", "Ditutup"), ("rejected", "Ditolak")]


@pytest.mark.parametrize("local, meant", [
    ("Belum", "received"), ("belum diproses", "received"), ("Belum Selesai", "received"),
    ("Menunggu", "received"), ("Tertunda", "received"), ("Diverifikasi", "verified"),
    ("Disposisi ke OPD", "dispositioned"), ("Sedang Ditindaklanjuti", "in_progress"),
    ("Proses", "in_progress"), ("SELESAI", "resolved"), ("Tuntas", "resolved"),
    ("Arsip", "closed"), ("Ditolak (duplikat)", "rejected")])
def test_a_status_is_suggested_by_its_meaning(local, meant):
    ranked = suggest.rank("status", local, None, STATUSES)
    assert ranked[0][0] == meant, ranked
    # Never a later step for a word that says nothing has been done yet.
    if meant == "received":
        assert {code for code, _, _ in ranked} == {"received"}


def test_a_status_is_never_matched_by_spelling_alone():
    # "Belum" and "Selesai" look alike to a string matcher; "Kelar" is no known word.
    assert suggest.rank("status", "Kelar", None, STATUSES) == []
    assert suggest.preselect(suggest.rank("status", "Kelar", None, STATUSES)) is None


def test_ties_and_weak_matches_are_not_preselected():
    cats = [("topik-lainnya", "Topik Lainnya"), ("topik-lainnya.lainnya",
                                                 "Topik Lainnya › Lainnya"),
            ("infrastruktur.jalan", "Infrastruktur › Jalan")]
    ranked = suggest.rank("category", "Lainnya", None, cats)
    assert ranked[0][2] >= 90 and suggest.preselect(ranked) is None  # two at the top
    channels = [("android", "Aplikasi Android"), ("local_app", "Aplikasi lokal")]
    assert suggest.preselect(suggest.rank("channel", "rekap", None, channels)) is None
    assert suggest.preselect(suggest.rank("category", "Sampah liar", None, cats)) is None
    # Strong and clearly ahead: preselected.
    assert suggest.preselect(suggest.rank("category", "Jalan berlubang", None, cats)) == \
        "infrastruktur.jalan"


def test_what_other_agencies_mapped_a_word_to_ranks_first():
    channels = [("android", "Aplikasi Android"), ("local_app", "Aplikasi lokal"),
                ("letter", "Surat")]
    ranked = suggest.rank("channel", "rekap", None, channels,
                          Counter({"local_app": 3, "kab-bantul.x": 2}))
    assert ranked[0][:2] == ("local_app", "Aplikasi lokal")
    # A peer's target outside the officer's choices (another agency's unit) never shows.
    assert "kab-bantul.x" not in {code for code, _, _ in ranked}


def test_the_queue_page_preselects_nothing_harmful(app, officer):
    cid = _import_sleman(app)
    _hold(app, cid, "1", "status", "Belum", "Lampu mati")
    _hold(app, cid, "2", "category", "Lainnya", "Keluhan umum")
    html = officer.get(f"/ui/connectors/{cid}/mappings").get_data(as_text=True)
    assert '<option value="resolved" selected>' not in html
    assert '<option value="received" selected>' in html
    # Lainnya: the blank choice stays selected until the officer picks a target.
    lainnya = html[html.index('data-value="Lainnya"'):]
    lainnya = lainnya[:lainnya.index("</select>")]
    assert '<option value="" selected>' in lainnya


def test_a_ticked_row_without_a_target_saves_nothing(app, officer):
    cid = _import_sleman(app)
    _hold(app, cid, "2", "category", "Lainnya", "Keluhan umum")
    _hold(app, cid, "3", "unit", "INSPEKTORAT", "Temuan inspektorat")
    resp = officer.post(f"/ui/connectors/{cid}/mappings/accept", data={
        "csrf_token": page_csrf(officer), "accept": ["0", "1"],
        "field-0": "category", "value-0": "Lainnya", "target-0": "",
        "field-1": "unit", "value-1": "INSPEKTORAT", "target-1": "kab-sleman.inspektorat"},
        follow_redirects=True)
    assert "Pilih nilai hub untuk: Lainnya" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.select(Mapping).where(
            Mapping.local_value.in_(["Lainnya", "INSPEKTORAT"]))).first() is None
