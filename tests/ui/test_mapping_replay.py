"""Saving mappings from the unmapped queue replays the held records for real (the Sleman
simulator over HTTP, no stand-in for the replay), and the page after the save lists the
complaints that arrived."""
from tests.sync.conftest import connector, run_sync, sim, sleman_doc  # noqa: F401
from tests.ui.conftest import confirm_form, page_csrf


def test_saving_from_the_queue_replays_and_lists_what_arrived(app, officer, sim, connector,  # noqa: F811
                                                               run_sync):  # noqa: F811
    sim.control("aduan", {"judul": "Izin usaha lama belum terbit", "kategori": "IZIN",
                          "opd": "DPUPKP"})
    sim.control("aduan", {"judul": "Temuan inspektorat soal pungutan", "kategori": "PJU",
                          "opd": "INSPEKTORAT"})
    sim.control("aduan", {"judul": "Lampu PJU mati di Jl. Magelang", "kategori": "PJU",
                          "opd": "DPUPKP"})
    first = run_sync()
    assert first["status"] == "succeeded" and first["counts"]["held"] == 2, first
    queue_url = f"/ui/connectors/{connector}/mappings"
    token = page_csrf(officer, queue_url)
    resp = officer.post(f"{queue_url}/accept", data={
        "csrf_token": token, "accept": ["0", "1"],
        "field-0": "category", "value-0": "IZIN", "target-0": "pelayanan-publik.perizinan",
        "field-1": "unit", "value-1": "INSPEKTORAT", "target-1": "kab-sleman.inspektorat"})
    # First the confirmation: what each choice releases; nothing is saved yet.
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    confirm = resp.get_data(as_text=True)
    assert confirm.count("1 catatan akan dilepas") == 2
    assert 'id="confirm-total">2 catatan akan dilepas' in confirm
    assert 'data-testid="held-count">2<' in officer.get(queue_url).get_data(as_text=True)
    resp = officer.post(f"{queue_url}/accept", data=confirm_form(confirm))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = officer.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:2000]
    assert "2 pemetaan disimpan; 2 catatan tertahan masuk ke hub." in html
    arrived = html.split('id="arrived"', 1)[1].split("</section>", 1)[0]
    assert "Izin usaha lama belum terbit" in arrived and "Temuan inspektorat" in arrived
