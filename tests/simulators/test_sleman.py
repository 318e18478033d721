"""The Sleman local-system simulator over real HTTP (run_simulator on 127.0.0.1)."""
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from simulators.sleman.testing import run_simulator
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
WIB_SUFFIX = "+07:00"


@pytest.fixture
def sim():
    with run_simulator() as handle:
        yield handle


def _all_pages(sim, path, per_page, **params):
    """Every page of a listing, following meta.last_page; returns (items, metas)."""
    items, metas, page = [], [], 1
    while True:
        resp = sim.api("GET", path, params={"page": page, "per_page": per_page, **params})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body["data"]
        metas.append(body["meta"])
        if page >= body["meta"]["last_page"]:
            return items, metas
        page += 1


def _ts(text):
    return datetime.fromisoformat(text)


def _hub_aduan(**over):
    return {"judul": "Jalan rusak di Jl. Kaliurang", "isi": "Mohon segera diperbaiki.",
            "kategori": "JLN-RSK", "opd": "DPUPKP", "kanal": "lapor", "status": "Menunggu",
            "pelapor": {"nama": "Warga", "telepon": None, "email": None},
            "anonim": False, "rahasia": False,
            "lokasi": {"alamat": "Jl. Kaliurang km 7", "lat": -7.75, "lng": 110.39},
            "id_eksternal": "01HUBREPORT0001", **over}


# --- auth, master data -------------------------------------------------------------------

def test_api_needs_the_key_controls_do_not(sim):
    for headers in ({}, {"X-API-Key": "salah"}):
        resp = requests.get(sim.url + "/api/aduan", headers=headers, timeout=10)
        assert resp.status_code == 401
        assert resp.headers["Content-Type"].startswith("application/json")
        assert resp.json()["status"] == "error"
        resp = requests.post(sim.url + "/api/aduan", json=_hub_aduan(), headers=headers,
                             timeout=10)
        assert resp.status_code == 401
    assert sim.state()["aduan"] == 0  # the refused POST created nothing
    assert sim.api("GET", "/api/aduan").status_code == 200
    assert requests.get(sim.url + "/_sim/state", timeout=10).status_code == 200


def test_master_data(sim):
    data = {name: {row["kode"]: row["nama"] for row in
                   sim.api("GET", f"/api/master/{name}").json()["data"]}
            for name in ("kategori", "opd", "status", "kanal")}
    assert len(data["kategori"]) >= 15
    assert {"Jalan Berlubang", "PJU Mati", "Sampah Menumpuk", "Saluran Air Mampet",
            "Pungli", "Layanan Puskesmas"} <= set(data["kategori"].values())
    assert {"DPUPKP", "DLH", "DINKES", "DISDIK", "DISDUKCAPIL", "DINSOS", "DISHUB",
            "SATPOLPP", "BPBD", "DISKOMINFO", "KAP-DEPOK", "KAP-MLATI"} <= set(data["opd"])
    assert list(data["status"]) == ["Menunggu", "Diverifikasi", "Diproses", "Selesai",
                                    "Ditolak"]
    assert set(data["kanal"]) == {"web", "app", "sms", "instagram", "facebook", "twitter",
                                  "email", "telepon", "surat", "lapor"}
    assert sim.api("GET", "/api/master/provinsi").status_code == 404


# --- listing -----------------------------------------------------------------------------

def test_pagination_covers_every_record_exactly_once(sim):
    sim.generate(237, seed=5, with_responses=True)
    items, metas = _all_pages(sim, "/api/aduan", 50)
    assert len(metas) == 5 and all(m["total"] == 237 and m["last_page"] == 5 for m in metas)
    assert [m["page"] for m in metas] == [1, 2, 3, 4, 5]
    ids = [a["id_aduan"] for a in items]
    assert sorted(ids) == list(range(1, 238))
    keys = [(_ts(a["diperbarui_pada"]), a["id_aduan"]) for a in items]
    assert keys == sorted(keys)
    total_t = sim.state()["tanggapan"]
    assert total_t > 0
    responses, _ = _all_pages(sim, "/api/tanggapan", 40)
    assert sorted(t["id_tanggapan"] for t in responses) == list(range(1, total_t + 1))
    assert {t["id_aduan"] for t in responses} <= set(ids)
    # Defaults and limits.
    body = sim.api("GET", "/api/aduan").json()
    assert body["meta"]["per_page"] == 50 and len(body["data"]) == 50
    body = sim.api("GET", "/api/aduan", params={"per_page": 10000}).json()
    assert body["meta"]["per_page"] == 500 and len(body["data"]) == 237
    past = sim.api("GET", "/api/aduan", params={"page": 99}).json()
    assert past["data"] == [] and past["meta"]["total"] == 237
    for bad in ({"page": 0}, {"per_page": "x"}, {"updated_since": "kemarin"}):
        assert sim.api("GET", "/api/aduan", params=bad).status_code == 422


def test_record_shape(sim):
    sim.generate(60, seed=8, with_responses=True)
    a = sim.api("GET", "/api/aduan/1").json()["data"]
    assert set(a) == {"id_aduan", "no_tiket", "judul", "isi", "kategori", "nama_kategori",
                      "status", "opd", "kanal", "pelapor", "anonim", "rahasia", "lokasi",
                      "tanggal_kejadian", "dibuat_pada", "diperbarui_pada", "sumber",
                      "id_eksternal"}
    assert a["no_tiket"] == f"SLM-{a['dibuat_pada'][:4]}-000001"
    assert set(a["pelapor"]) == {"nama", "telepon", "email"}
    assert set(a["lokasi"]) == {"alamat", "kapanewon", "lat", "lng"}
    assert a["sumber"] == "lokal" and a["id_eksternal"] is None
    assert a["dibuat_pada"].endswith(WIB_SUFFIX) and a["diperbarui_pada"].endswith(WIB_SUFFIX)
    rows = list(sim.store.aduan.values())
    assert any(r["anonim"] for r in rows) and any(not r["anonim"] for r in rows)
    assert all(r["pelapor"]["nama"] is None for r in rows if r["anonim"])
    assert len({r["kanal"] for r in rows}) >= 5 and len({r["kategori"] for r in rows}) >= 8
    t = sim.api("GET", "/api/tanggapan").json()["data"][0]
    assert set(t) == {"id_tanggapan", "id_aduan", "isi", "petugas", "opd", "publik",
                      "dibuat_pada", "diperbarui_pada", "sumber", "id_eksternal"}
    # Responses only on complaints past Menunggu/Diverifikasi.
    answered = {t["id_aduan"] for t in sim.store.tanggapan.values()}
    assert all(sim.store.aduan[i]["status"] in ("Diproses", "Selesai", "Ditolak")
               for i in answered)
    missing = sim.api("GET", "/api/aduan/9999")
    assert missing.status_code == 404 and missing.json()["status"] == "error"


def test_updated_since_is_inclusive_and_reads_offsets(sim):
    sim.set_clock(-3600)
    old = sim.create_aduan(judul="Aduan lama")
    sim.set_clock(-1800)
    middle = sim.create_aduan(judul="Aduan tengah")
    sim.set_clock(0)
    new = sim.create_aduan(judul="Aduan baru")

    def since(value):
        body = sim.api("GET", "/api/aduan", params={"updated_since": value}).json()
        return [a["id_aduan"] for a in body["data"]]

    stamp = _ts(middle["diperbarui_pada"])
    assert since(middle["diperbarui_pada"]) == [middle["id_aduan"], new["id_aduan"]]
    assert since((stamp + timedelta(seconds=1)).isoformat()) == [new["id_aduan"]]
    assert since((stamp + timedelta(milliseconds=500)).isoformat()) == [new["id_aduan"]]
    utc = stamp.astimezone(timezone.utc)
    assert since(utc.strftime("%Y-%m-%dT%H:%M:%SZ")) == [middle["id_aduan"], new["id_aduan"]]
    # A naive time is the local system's own time (WIB).
    assert since(stamp.strftime("%Y-%m-%d %H:%M:%S")) == [middle["id_aduan"], new["id_aduan"]]
    assert since((_ts(old["diperbarui_pada"]) - timedelta(days=1)).isoformat()) == \
        [old["id_aduan"], middle["id_aduan"], new["id_aduan"]]


# --- writes ------------------------------------------------------------------------------

def test_every_change_strictly_increases_diperbarui_pada(sim):
    row = sim.create_aduan(judul="Lampu PJU mati", kategori="PJU", opd="DISHUB")
    assert row["status"] == "Menunggu" and row["sumber"] == "lokal"
    assert row["dibuat_pada"] == row["diperbarui_pada"]
    aid, stamps = row["id_aduan"], [_ts(row["diperbarui_pada"])]

    def latest():
        return sim.api("GET", f"/api/aduan/{aid}").json()["data"]

    assert sim.set_status(aid, "Diverifikasi")["status"] == "Diverifikasi"
    stamps.append(_ts(latest()["diperbarui_pada"]))
    t = sim.add_tanggapan(aid, isi="Sedang dicek petugas")
    assert t["sumber"] == "lokal" and t["opd"] == "DISHUB"
    after = latest()
    assert after["status"] == "Diproses"  # a response moves Diverifikasi on
    stamps.append(_ts(after["diperbarui_pada"]))
    resp = sim.api("PUT", f"/api/aduan/{aid}/status", json={"status": "Selesai",
                                                            "catatan": "Sudah diperbaiki"})
    assert resp.status_code == 200 and resp.json()["data"]["status"] == "Selesai"
    stamps.append(_ts(resp.json()["data"]["diperbarui_pada"]))
    resp = sim.api("POST", f"/api/aduan/{aid}/tanggapan",
                   json={"isi": "Terima kasih", "petugas": "Admin", "id_eksternal": "R1"})
    assert resp.status_code == 201
    assert latest()["status"] == "Selesai"  # a finished case stays finished
    stamps.append(_ts(latest()["diperbarui_pada"]))
    sim.set_clock(-7200)  # even with the clock set back, the record moves forward
    sim.set_status(aid, "Ditolak")
    stamps.append(_ts(latest()["diperbarui_pada"]))
    assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False)), stamps
    history = requests.get(f"{sim.url}/_sim/aduan/{aid}/riwayat", timeout=10).json()["data"]
    assert [h["status_baru"] for h in history] == ["Menunggu", "Diverifikasi", "Diproses",
                                                   "Selesai", "Ditolak"]
    assert history[3]["catatan"] == "Sudah diperbaiki" and history[3]["sumber"] == "hub"
    # The changed record now sorts last.
    data = sim.api("GET", "/api/aduan").json()["data"]
    assert data[-1]["id_aduan"] == aid


def test_clock_offset_moves_new_records_back(sim):
    now = _ts(sim.state()["clock"]["now"])
    sim.set_clock(-40)
    row = sim.create_aduan(judul="Jam server mundur")
    assert sim.state()["clock"]["offset_seconds"] == -40
    lag = now - _ts(row["dibuat_pada"])
    assert timedelta(seconds=38) <= lag <= timedelta(seconds=41), lag


def test_create_is_not_idempotent_by_default(sim):
    first = sim.api("POST", "/api/aduan", json=_hub_aduan(sumber="lokal"))
    second = sim.api("POST", "/api/aduan", json=_hub_aduan())
    assert first.status_code == second.status_code == 201
    a, b = first.json()["data"], second.json()["data"]
    assert a["id_aduan"] != b["id_aduan"]
    assert a["sumber"] == "hub" and a["id_eksternal"] == "01HUBREPORT0001"
    assert a["kategori"] == "JLN-RSK" and a["nama_kategori"] == "Jalan Berlubang"
    assert a["lokasi"]["lat"] == -7.75 and a["pelapor"]["nama"] == "Warga"
    found = sim.api("GET", "/api/aduan", params={"id_eksternal": "01HUBREPORT0001"}).json()
    assert found["meta"]["total"] == 2
    assert sim.api("GET", "/api/aduan", params={"id_eksternal": "lain"}).json()["data"] == []
    # Responses: same, two posts make two rows.
    for _ in range(2):
        r = sim.api("POST", f"/api/aduan/{a['id_aduan']}/tanggapan",
                    json={"isi": "Diteruskan ke OPD.", "id_eksternal": "01HUBRESP1"})
        assert r.status_code == 201 and r.json()["data"]["sumber"] == "hub"
    assert sim.state()["tanggapan"] == 2


def test_idempotent_create_returns_the_existing_row():
    with run_simulator({"idempotent_create": True}) as sim:
        first = sim.api("POST", "/api/aduan", json=_hub_aduan())
        again = sim.api("POST", "/api/aduan", json=_hub_aduan(judul="Judul lain"))
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["data"] == first.json()["data"]
        aid = first.json()["data"]["id_aduan"]
        codes = [sim.api("POST", f"/api/aduan/{aid}/tanggapan",
                         json={"isi": "Ok", "id_eksternal": "T1"}).status_code
                 for _ in range(2)]
        assert codes == [201, 200]
        assert sim.state()["aduan"] == 1 and sim.state()["tanggapan"] == 1


def test_bad_writes_are_refused_with_json(sim):
    resp = sim.api("POST", "/api/aduan", json={"isi": "tanpa judul"})
    assert resp.status_code == 422
    assert {"judul", "id_eksternal"} <= set(resp.json()["errors"])
    resp = sim.api("POST", "/api/aduan", json=_hub_aduan(status="Terbuka"))
    assert resp.status_code == 422 and "status" in resp.json()["errors"]
    resp = sim.api("POST", "/api/aduan", data="bukan json",
                   headers={"Content-Type": "application/json"})
    assert resp.status_code == 422
    aid = sim.api("POST", "/api/aduan", json=_hub_aduan()).json()["data"]["id_aduan"]
    resp = sim.api("PUT", f"/api/aduan/{aid}/status", json={"status": "resolved"})
    assert resp.status_code == 422 and "status" in resp.json()["errors"]
    assert sim.api("PUT", "/api/aduan/999/status", json={"status": "Selesai"}).status_code \
        == 404
    assert sim.api("POST", f"/api/aduan/{aid}/tanggapan", json={"isi": ""}).status_code == 422
    assert sim.api("POST", "/api/aduan/999/tanggapan",
                   json={"isi": "x", "id_eksternal": "y"}).status_code == 404
    resp = requests.post(f"{sim.url}/_sim/aduan/{aid}/status", json={"status": "Beres"},
                         timeout=10)
    assert resp.status_code == 422
    assert sim.state()["aduan"] == 1 and sim.store.aduan[aid]["status"] == "Menunggu"


def test_strict_master_refuses_unknown_codes():
    with run_simulator({"strict_master": True}) as sim:
        resp = sim.api("POST", "/api/aduan", json=_hub_aduan(kategori="infrastruktur.jalan"))
        assert resp.status_code == 422 and "kategori" in resp.json()["errors"]
        assert sim.api("POST", "/api/aduan", json=_hub_aduan()).status_code == 201


# --- faults ------------------------------------------------------------------------------

def test_error500_for_count_requests_then_clears(sim):
    sim.generate(3)
    sim.fault("error500", count=2)
    for _ in range(2):
        resp = sim.api("GET", "/api/aduan")
        assert resp.status_code == 500 and resp.headers["Content-Type"].startswith("text/html")
    assert sim.api("GET", "/api/aduan").status_code == 200
    assert sim.state()["fault"]["mode"] == "none"


def test_error503_has_retry_after_and_blocks_writes(sim):
    sim.fault("error503", retry_after=7)
    resp = sim.api("POST", "/api/aduan", json=_hub_aduan())
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "7"
    assert sim.state()["aduan"] == 0
    sim.fault("none")
    assert sim.api("POST", "/api/aduan", json=_hub_aduan()).status_code == 201


def test_timeout_delays_then_answers_and_clearing_wakes_it(sim):
    sim.generate(2)
    sim.fault("timeout", delay=0.6, count=1)
    started = time.monotonic()
    resp = sim.api("GET", "/api/aduan")
    assert time.monotonic() - started >= 0.6
    assert resp.status_code == 200 and len(resp.json()["data"]) == 2
    sim.fault("timeout", delay=30)
    with pytest.raises(requests.Timeout):
        sim.api("GET", "/api/aduan", timeout=0.5)
    # A request sleeping in a 30 s timeout is released as soon as the fault is cleared.
    result = {}

    def slow():
        result["resp"] = sim.api("GET", "/api/aduan", timeout=60)

    thread = threading.Thread(target=slow)
    started = time.monotonic()
    thread.start()
    time.sleep(0.3)
    sim.reset()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert result["resp"].status_code == 200


def test_garbage_and_wrong_shape(sim):
    sim.generate(3)
    sim.fault("garbage")
    resp = sim.api("GET", "/api/aduan")
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()
    sim.fault("wrong_shape")
    body = sim.api("GET", "/api/tanggapan").json()
    assert isinstance(body["data"], str)
    sim.fault("none")
    body = sim.api("GET", "/api/aduan").json()
    assert isinstance(body["data"], list) and len(body["data"]) == 3


def test_duplicate_pages_repeat_the_previous_page(sim):
    sim.generate(30)
    clean = [[a["id_aduan"] for a in sim.api("GET", "/api/aduan", params={
        "page": p, "per_page": 10}).json()["data"]] for p in (1, 2, 3)]
    sim.fault("duplicate_pages")
    faulty = [[a["id_aduan"] for a in sim.api("GET", "/api/aduan", params={
        "page": p, "per_page": 10}).json()["data"]] for p in (1, 2, 3)]
    assert faulty == [clean[0], clean[0], clean[1]]


def test_reorder_shuffles_within_the_page(sim):
    sim.generate(30)
    clean = [a["id_aduan"] for a in sim.api("GET", "/api/aduan", params={"per_page": 30}
                                            ).json()["data"]]
    sim.fault("reorder")
    shuffled = [a["id_aduan"] for a in sim.api("GET", "/api/aduan", params={"per_page": 30}
                                               ).json()["data"]]
    assert shuffled != clean and sorted(shuffled) == sorted(clean)


def test_stall_serves_the_same_page_forever(sim):
    sim.generate(30)
    sim.fault("stall")
    pages = [sim.api("GET", "/api/aduan", params={"page": p, "per_page": 10}).json()
             for p in (1, 2, 3, 50)]
    first = [a["id_aduan"] for a in pages[0]["data"]]
    assert all([a["id_aduan"] for a in p["data"]] == first for p in pages)
    assert [p["meta"]["page"] for p in pages] == [1, 2, 3, 50]
    assert pages[0]["meta"]["last_page"] == 3


def test_bad_record_once(sim):
    sim.generate(5)
    sim.fault("bad_record", count=1)
    data = sim.api("GET", "/api/aduan").json()["data"]
    assert "judul" not in data[0] and data[0]["diperbarui_pada"] == "2026-11-01 10:00:00"
    assert all(a["judul"] and a["diperbarui_pada"].endswith(WIB_SUFFIX) for a in data[1:])
    again = sim.api("GET", "/api/aduan").json()["data"]
    assert again[0]["id_aduan"] == data[0]["id_aduan"] and again[0]["judul"]


def test_faults_respect_paths_and_spare_controls(sim):
    sim.generate(3, with_responses=True)
    sim.fault("error500", paths=["/api/tanggapan"])
    assert sim.api("GET", "/api/tanggapan").status_code == 500
    assert sim.api("GET", "/api/aduan").status_code == 200
    assert requests.get(sim.url + "/", timeout=10).status_code == 200
    assert sim.state()["fault"] == {"mode": "error500", "remaining": None,
                                    "paths": ["/api/tanggapan"], "delay": 30.0,
                                    "retry_after": 1, "hits": 1}
    resp = requests.post(sim.url + "/_sim/faults", json={"mode": "meteor"}, timeout=10)
    assert resp.status_code == 422
    sim.fault("none")
    assert sim.api("GET", "/api/tanggapan").status_code == 200


# --- volume, concurrency ------------------------------------------------------------------

def test_generate_20000_and_page_through(sim):
    made = sim.generate(20000, seed=3, with_responses=True)
    assert made["created"] == 20000 and made["first"] == 1 and made["last"] == 20000
    items, metas = _all_pages(sim, "/api/aduan", 500)
    assert len(metas) == 40
    ids = [a["id_aduan"] for a in items]
    assert len(ids) == len(set(ids)) == 20000
    assert sim.state()["tanggapan"] == made["tanggapan"] > 0


@pytest.mark.slow
def test_generate_100000_for_the_benchmarks(sim):
    # How fast is the benchmarks' business (bench/connector.py), not a timed test's.
    made = sim.generate(100000, seed=4)
    assert made["created"] == 100000
    body = sim.api("GET", "/api/aduan", params={"page": 200, "per_page": 500}).json()
    assert body["meta"]["total"] == 100000 and len(body["data"]) == 500


def test_concurrent_writes_get_distinct_ids(sim):
    def worker(n):
        for i in range(15):
            resp = sim.api("POST", "/api/aduan", json=_hub_aduan(id_eksternal=f"W{n}-{i}"))
            assert resp.status_code == 201

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items, _ = _all_pages(sim, "/api/aduan", 500)
    assert sorted(a["id_aduan"] for a in items) == list(range(1, 91))
    assert len({a["id_eksternal"] for a in items}) == 90


def test_reset_empties_everything(sim):
    sim.generate(10, with_responses=True)
    sim.set_clock(-100)
    sim.fault("error500")
    sim.reset()
    state = sim.state()
    assert (state["aduan"], state["tanggapan"], state["fault"]["mode"],
            state["clock"]["offset_seconds"]) == (0, 0, "none", 0)
    assert sim.create_aduan(judul="Baru")["id_aduan"] == 1


def test_activity_thread_logs_new_complaints():
    with run_simulator({"activity_interval": 0.05, "seed": 3}) as sim:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sim.state()["aduan"] < 30:
            time.sleep(0.05)
        state = sim.state()
        assert state["aduan"] >= 30 and state["tanggapan"] > 0
        assert state["per_status"]["Menunggu"] < state["aduan"]  # some moved on
        assert state["per_sumber"] == {"lokal": state["aduan"]}


def test_file_database_survives_a_restart(tmp_path):
    db = str(tmp_path / "sleman.sqlite3")
    with run_simulator({"db": db}) as sim:
        sim.generate(12, with_responses=True)
        before = sim.api("GET", "/api/aduan", params={"per_page": 100}).json()["data"]
    with run_simulator({"db": db}) as sim:
        after = sim.api("GET", "/api/aduan", params={"per_page": 100}).json()["data"]
        assert after == before
        assert sim.create_aduan(judul="Setelah restart")["id_aduan"] == 13


# --- the page and the runner ---------------------------------------------------------------

def test_html_page_lists_and_escapes(sim):
    hostile = "<script>alert('x')</script>"
    row = sim.create_aduan(judul=hostile, isi="<img src=x onerror=alert(1)>")
    sim.add_tanggapan(row["id_aduan"], isi="<b>tebal</b>", petugas="<i>Admin</i>")
    sim.api("POST", "/api/aduan", json=_hub_aduan(judul="Dari hub nasional"))
    resp = requests.get(sim.url + "/", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    html = resp.text
    assert '<html lang="id">' in html and 'http-equiv="refresh"' in html
    assert "<script>" not in html and "<img" not in html and "<b>tebal" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;tebal&lt;/b&gt;" in html
    assert "Dari hub nasional" in html and "sumber: hub" in html and row["no_tiket"] in html
    assert "Diproses" in html  # the response moved it on


def test_module_runner_starts_with_generated_data(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "simulators.sleman", "--port", str(port),
                             "--api-key", "kunci-uji", "--generate", "7", "--seed", "2",
                             "--db", str(tmp_path / "run.sqlite3")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                state = requests.get(url + "/_sim/state", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("the simulator did not start")
        assert state["aduan"] == 7
        assert requests.get(url + "/api/aduan", timeout=5).status_code == 401
        resp = requests.get(url + "/api/aduan", headers={"X-API-Key": "kunci-uji"}, timeout=5)
        assert resp.json()["meta"]["total"] == 7
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _keyset_pages(sim, path, per_page, **params):
    """Every page of a listing, following meta.next (keyset); returns (items, metas)."""
    items, metas, after = [], [], None
    while True:
        query = {"per_page": per_page, **params, **({"after": after} if after else {})}
        resp = sim.api("GET", path, params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body["data"]
        metas.append(body["meta"])
        after = body["meta"]["next"]
        if not after:
            return items, metas


def test_keyset_paging_covers_every_record_once_and_misses_none_that_move(sim):
    sim.generate(120, seed=9)
    first = sim.api("GET", "/api/aduan", params={"per_page": 50}).json()
    assert first["meta"]["next"] and len(first["data"]) == 50
    # A record on an earlier page changes while the reader pages: with page numbers the
    # rows behind it would shift one place and one would be skipped; with keyset paging
    # every row is still read, and the changed one again at the end.
    sim.set_status(first["data"][0]["id_aduan"], "Diproses")
    items, metas = _keyset_pages(sim, "/api/aduan", 50)
    ids = [a["id_aduan"] for a in items]
    assert sorted(set(ids)) == list(range(1, 121))
    assert ids.count(first["data"][0]["id_aduan"]) == 1 and ids[-1] == first["data"][0]["id_aduan"]
    keys = [(_ts(a["diperbarui_pada"]), a["id_aduan"]) for a in items]
    assert keys == sorted(keys)
    assert metas[-1]["next"] is None and all(m["total"] == 120 for m in metas)
    # With updated_since the keyset continues inside the window.
    since = items[60]["diperbarui_pada"]
    window, _ = _keyset_pages(sim, "/api/aduan", 7, updated_since=since)
    assert [a["id_aduan"] for a in window] == \
        [a["id_aduan"] for a in items if _ts(a["diperbarui_pada"]) >= _ts(since)]
    for bad in ("x", "2026-01-01T00:00:00+07:00", "~5", "2026-01-01~abc"):
        resp = sim.api("GET", "/api/aduan", params={"after": bad})
        assert resp.status_code == 422, bad


def test_deep_pages_cost_about_what_the_first_does(sim):
    """Counted in SQLite's own work (virtual-machine steps), not in seconds: a keyset page
    deep in 50,000 rows costs about what the first page does, and a page by number walks
    only the index up to its offset."""
    sim.generate(50000, seed=2)
    conn = sim.store.conn
    steps = [0]

    def count():
        steps[0] += 1
        return 0  # go on

    def costed(**params):
        steps[0] = 0
        conn.set_progress_handler(count, 100)
        try:
            body = sim.api("GET", "/api/aduan", params={"per_page": 500, **params}).json()
        finally:
            conn.set_progress_handler(None, 100)
        return steps[0], body
    first, body = costed()
    by_number, deep = costed(page=100)
    assert len(deep["data"]) == 500 and deep["data"][-1]["id_aduan"] == 50000
    token = f"{deep['data'][0]['diperbarui_pada']}~{deep['data'][0]['id_aduan'] - 1}"
    keyset, tail = costed(after=token)
    assert [a["id_aduan"] for a in tail["data"]] == [a["id_aduan"] for a in deep["data"]]
    assert first > 0
    assert keyset < first * 2, (first, keyset, by_number)
    assert by_number < first * 20, (first, keyset, by_number)  # the index, not the rows
