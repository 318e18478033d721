"""Mappings by hand: an officer adds a mapping for a value of their choosing or points an
existing one elsewhere; every save, from the queue too, first shows how many held records
each choice releases (matched as the mapping lookup matches: case and spacing aside) and
saves only when confirmed, through the same checks and replay as the queue."""
import sqlalchemy as sa

from hub.extensions import db
from hub.models import HeldRecord, Mapping
from hub.services import mapping_rules
from tests.sync.conftest import connector, run_sync, sim, sleman_doc  # noqa: F401
from tests.ui.conftest import confirm_form, login, page_csrf
from tests.ui.test_ui import _import_sleman

LONG = "x" * 201


def _hold(app, connector_id, external_id, missing):
    """A held record missing the given (field, value) pairs."""
    with app.app_context():
        db.session.add(HeldRecord(
            connector_id=connector_id, stream="reports", external_id=external_id,
            reason="unmapped", attempts=1,
            missing=[{"field": f, "value": v} for f, v in missing],
            record={"stream": "reports", "external_id": external_id,
                    "fields": {"title": f"Aduan {external_id}"}}))
        db.session.commit()


def _mappings(app, cid) -> dict:
    with app.app_context():
        return {(m.field, m.local_value): m.hub_value for m in db.session.execute(
            sa.select(Mapping).where(Mapping.connector_id == cid)).scalars()}


def _unmap(app, cid, field, local):
    with app.app_context():
        db.session.execute(sa.delete(Mapping).where(
            Mapping.connector_id == cid, Mapping.field == field, Mapping.local_value == local))
        db.session.commit()


def _row(html: str, field: str, value: str) -> str:
    part = html.split(f'data-field="{field}" data-value="{value}"', 1)[1]
    return part.split("</tr>", 1)[0]


def _add(client, cid, field, value, target, **extra):
    return client.post(f"/ui/connectors/{cid}/mappings/add", data={
        "csrf_token": page_csrf(client), "field": field, "value": value,
        f"target-{field}": target, **extra})


def _choose(client, cid, *rows):
    """Tick rows of the queue, (field, value, target) each: the confirmation page."""
    data = {"csrf_token": page_csrf(client), "accept": [str(i) for i in range(len(rows))]}
    for i, (field, value, target) in enumerate(rows):
        data.update({f"field-{i}": field, f"value-{i}": value, f"target-{i}": target})
    resp = client.post(f"/ui/connectors/{cid}/mappings/accept", data=data)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


# -- adding by hand, with a real sync and replay ----------------------------------------

def test_a_status_mapped_by_hand_releases_what_the_confirmation_counted(
        app, officer, sim, connector, run_sync):  # noqa: F811
    _unmap(app, connector, "status", "Diverifikasi")
    for title in ("Jalan berlubang di Jl. Kaliurang", "Drainase tersumbat di Depok"):
        sim.control("aduan", {"judul": title, "kategori": "JLN-RSK", "opd": "DPUPKP",
                              "status": "Diverifikasi"})
    # This one also waits for a category: the status alone does not release it.
    sim.control("aduan", {"judul": "Izin usaha lama belum terbit", "kategori": "IZIN",
                          "opd": "DPUPKP", "status": "Diverifikasi"})
    assert run_sync()["counts"]["held"] == 3
    page = officer.get(f"/ui/connectors/{connector}/mappings").get_data(as_text=True)
    assert 'id="add-mapping"' in page and 'name="target-status"' in page

    # Typed in other case and spacing, as the local system's word is matched.
    resp = _add(officer, connector, "status", "  diverifikasi ", "verified")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    row = _row(html, "status", "diverifikasi")
    assert "2 catatan akan dilepas" in row
    assert "1 catatan masih menunggu nilai lain dipetakan" in row
    assert 'id="confirm-total">2 catatan akan dilepas' in html
    assert "Terverifikasi <span class=\"muted small\">(verified)" in row  # the hub value
    assert ("status", "diverifikasi") not in _mappings(app, connector)  # not yet saved

    done = officer.post(f"/ui/connectors/{connector}/mappings/accept",
                        data=confirm_form(html), follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "1 pemetaan disimpan; 2 catatan tertahan masuk ke hub." in text
    arrived = text.split('id="arrived"', 1)[1].split("</section>", 1)[0]
    assert "Jalan berlubang di Jl. Kaliurang" in arrived and "Drainase tersumbat" in arrived
    assert "Izin usaha" not in arrived
    assert _mappings(app, connector)[("status", "diverifikasi")] == "verified"
    with app.app_context():
        held = db.session.execute(sa.select(HeldRecord)).scalars().all()
        assert [h.missing for h in held] == [[{"field": "category", "value": "IZIN"}]]


# -- the count -------------------------------------------------------------------------

def test_the_count_matches_case_and_spacing_as_the_lookup_does(app, officer):
    cid = _import_sleman(app)
    _unmap(app, cid, "status", "Diverifikasi")
    _hold(app, cid, "1", [("status", "Diverifikasi")])
    _hold(app, cid, "2", [("status", "  diverifikasi ")])
    _hold(app, cid, "3", [("status", "DIVERIFIKASI")])
    _hold(app, cid, "4", [("status", "Diverifikasi"), ("category", "IZIN")])
    _hold(app, cid, "5", [("status", "Dibatalkan")])
    html = _add(officer, cid, "status", "Diverifikasi", "verified").get_data(as_text=True)
    row = _row(html, "status", "Diverifikasi")
    assert "3 catatan akan dilepas" in row and "1 catatan masih menunggu" in row
    # From the queue, both values at once: the record that needed both is released too.
    html = _choose(officer, cid, ("status", "Diverifikasi", "verified"),
                   ("category", "IZIN", "pelayanan-publik.perizinan"))
    assert "4 catatan akan dilepas" in _row(html, "status", "Diverifikasi")
    assert "1 catatan akan dilepas" in _row(html, "category", "IZIN")
    assert "masih menunggu" not in html
    assert 'id="confirm-total">4 catatan akan dilepas' in html
    assert ("status", "Diverifikasi") not in _mappings(app, cid)
    # Two spellings of one word chosen together: each row counts every record of it.
    html = _choose(officer, cid, ("status", "Diverifikasi", "verified"),
                   ("status", "DIVERIFIKASI", "verified"))
    for value in ("Diverifikasi", "DIVERIFIKASI"):
        assert "3 catatan akan dilepas" in _row(html, "status", value)
    assert 'id="confirm-total">3 catatan akan dilepas' in html
    # In English too.
    login(officer, "petugas@slemankab.go.id", lang="en")
    english = _add(officer, cid, "status", "Dibatalkan", "rejected").get_data(as_text=True)
    assert "1 record will be released" in _row(english, "status", "Dibatalkan")
    assert "Check the mappings of LAPOR Sleman" in english


def test_the_confirmation_needs_its_csrf_token_and_checks_again(app, officer, monkeypatch):
    cid = _import_sleman(app)
    _hold(app, cid, "1", [("category", "IZIN")])
    html = _add(officer, cid, "category", "IZIN", "pelayanan-publik.perizinan"
                ).get_data(as_text=True)
    data = confirm_form(html)
    forged = {**data, "csrf_token": "forged"}
    assert officer.post(f"/ui/connectors/{cid}/mappings/accept", data=forged
                        ).status_code == 400
    without = {k: v for k, v in data.items() if k != "csrf_token"}
    assert officer.post(f"/ui/connectors/{cid}/mappings/accept", data=without
                        ).status_code == 400
    # A target changed between the two steps is still refused on saving.
    resp = officer.post(f"/ui/connectors/{cid}/mappings/accept",
                        data={**data, "target-0": "no.such"}, follow_redirects=True)
    assert "tidak ada yang disimpan" in resp.get_data(as_text=True)
    assert ("category", "IZIN") not in _mappings(app, cid)
    calls = []
    rule = mapping_rules.check_targets
    monkeypatch.setattr(mapping_rules, "check_targets",
                        lambda *a: (calls.append(a[2]), rule(*a))[1])
    officer.post(f"/ui/connectors/{cid}/mappings/accept", data=data)
    assert calls == [{"category": {"IZIN": "pelayanan-publik.perizinan"}}]
    assert _mappings(app, cid)[("category", "IZIN")] == "pelayanan-publik.perizinan"


# -- refusals --------------------------------------------------------------------------

def test_adding_by_hand_refuses_bad_choices_with_translated_messages(app, officer,
                                                                    monkeypatch):
    cid = _import_sleman(app)
    before = _mappings(app, cid)
    checked = []
    rule = mapping_rules.check_targets
    monkeypatch.setattr(mapping_rules, "check_targets",
                        lambda *a: (checked.append(a[2]), rule(*a))[1])
    cases = [
        (("colour", "Merah", "red"), "field", "Pilihan tidak dikenal."),
        (("status", "   ", "verified"), "value", "Wajib diisi."),
        (("status", LONG, "verified"), "value", "Nilai lokal paling panjang 200 karakter"),
        (("category", "pju", "infrastruktur.pju"), "value", "sudah dipetakan sebagai “PJU”"),
        (("category", "Baru", ""), "target", "Pilih nilai hub."),
        (("category", "Baru", "no.such"), "target",
         "Ada pemetaan yang menunjuk nilai hub yang tidak dikenal"),
        (("unit", "BANTUL", "kab-bantul"), "target", "Unit tujuan di luar instansi Anda"),
    ]
    for (field, value, target), where, message in cases:
        resp = _add(officer, cid, field, value, target)
        assert resp.status_code == 422, (field, value)
        html = resp.get_data(as_text=True)
        error = html.split(f'id="err-add-{where}"', 1)[1].split("</span>", 1)[0]
        assert message in error, (field, value, error)
        assert 'id="confirm-form"' not in html
    assert {"unit": {"BANTUL": "kab-bantul"}} in checked  # the one rule for targets
    # The form keeps what was typed.
    html = _add(officer, cid, "category", "Baru", "").get_data(as_text=True)
    assert 'id="add-value" name="value" type="text" maxlength="200" value="Baru"' in html
    login(officer, "petugas@slemankab.go.id", lang="en")
    html = _add(officer, cid, "category", "Baru", "").get_data(as_text=True)
    assert "Choose a hub value." in html
    resp = officer.post(f"/ui/connectors/{cid}/mappings/add", data={
        "field": "status", "value": "Baru", "target-status": "verified"})
    assert resp.status_code == 400
    assert _mappings(app, cid) == before


def test_another_agencys_connector_is_404_for_adding_and_editing(app, bantul_officer):
    cid = _import_sleman(app)
    token = page_csrf(bantul_officer)
    base = f"/ui/connectors/{cid}/mappings"
    assert bantul_officer.post(f"{base}/add", data={
        "csrf_token": token, "field": "status", "value": "X", "target-status": "verified"}
        ).status_code == 404
    assert bantul_officer.get(f"{base}/edit?field=category&value=PJU").status_code == 404
    assert bantul_officer.post(f"{base}/edit", data={
        "csrf_token": token, "field": "category", "value": "PJU",
        "target": "infrastruktur.jalan"}).status_code == 404
    assert _mappings(app, cid)[("category", "PJU")] == "infrastruktur.pju"


# -- editing ---------------------------------------------------------------------------

def test_editing_a_mapping_confirms_then_points_it_elsewhere(app, officer):
    cid = _import_sleman(app)
    base = f"/ui/connectors/{cid}/mappings"
    page = officer.get(base).get_data(as_text=True)
    assert f'href="{base}/edit?field=category&amp;value=PJU"' in page
    assert "edit?field=status_out" not in page  # the outbound table names local codes
    form = officer.get(f"{base}/edit?field=category&value=PJU")
    assert form.status_code == 200
    assert '<option value="infrastruktur.pju" selected>' in form.get_data(as_text=True)
    token = page_csrf(officer, f"{base}/edit?field=category&value=PJU")

    def edit(field, value, target):
        return officer.post(f"{base}/edit", data={"csrf_token": token, "field": field,
                                                  "value": value, "target": target})

    for args, message in ((("category", "PJU", "infrastruktur.pju"), "Nilai hub tidak berubah."),
                          (("category", "PJU", ""), "Pilih nilai hub."),
                          (("category", "PJU", "no.such"), "tidak dikenal"),
                          (("unit", "DLH", "kab-bantul"), "di luar instansi Anda")):
        resp = edit(*args)
        assert resp.status_code == 422, args
        error = resp.get_data(as_text=True).split('id="err-target"', 1)[1]
        assert message in error.split("</span>", 1)[0], args
    for field, value in (("category", "NO-SUCH"), ("status_out", "received"),
                         ("colour", "PJU")):
        assert officer.get(f"{base}/edit?field={field}&value={value}").status_code == 404
        assert edit(field, value, "infrastruktur.jalan").status_code == 404
    resp = edit("category", "PJU", "infrastruktur.jalan")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    row = _row(html, "category", "PJU")
    assert "menggantikan" in row and "(infrastruktur.pju)" in row
    assert "0 catatan akan dilepas" in row
    assert _mappings(app, cid)[("category", "PJU")] == "infrastruktur.pju"  # not yet
    done = officer.post(f"{base}/accept", data=confirm_form(html), follow_redirects=True)
    assert "1 pemetaan disimpan; 0 catatan tertahan masuk ke hub." in done.get_data(
        as_text=True)
    after = _mappings(app, cid)
    assert after[("category", "PJU")] == "infrastruktur.jalan"
    assert after[("category", "SAMPAH")] == "lingkungan-hidup.sampah"  # the rest kept
    with app.app_context():
        assert db.session.get(Mapping, (cid, "category", "PJU")).updated_by.startswith("user:")
