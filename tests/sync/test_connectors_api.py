"""The connectors API: health, runs, held records, mapping replay, pause and resume."""
import yaml


def test_connector_health_runs_held_and_mapping_replay(app, sim, connector, run_sync,
                                                        make_caller):
    officer = make_caller("kab-sleman", "reports:read reports:write mappings:write")
    other = make_caller("kab-bantul", "reports:read reports:write mappings:write")
    sim.generate(5, seed=31)
    sim.control("aduan", {"judul": "Izin reklame", "kategori": "IZIN", "opd": "DPUPKP"})
    run_sync()
    listed = officer.get("/connectors").get_json()["items"]
    assert [(c["id"], c["held"], c["circuit"]) for c in listed] == [(connector, 1, "closed")]
    assert other.get("/connectors").get_json()["items"] == []
    assert other.get(f"/connectors/{connector}/runs").status_code == 404
    runs = officer.get(f"/connectors/{connector}/runs").get_json()["items"]
    assert runs[0]["status"] == "succeeded" and runs[0]["counts"]["held"] == 1
    held = officer.get(f"/connectors/{connector}/held").get_json()["items"]
    assert held[0]["missing"] == [{"field": "category", "value": "IZIN"}]
    # A mapping to a category that does not exist is refused; a real one replays at once.
    bad = officer.put(f"/connectors/{connector}/mappings",
                      json={"mappings": {"category": {"IZIN": "no-such-category"}}})
    assert bad.status_code == 422 and "mappings.category.IZIN" in bad.get_json()["errors"]
    text = officer.get(f"/connectors/{connector}/mappings").get_data(as_text=True)
    assert sim.api_key not in text  # secrets never leave the hub
    tables = yaml.safe_load(text)["mappings"]
    assert tables["category"]["JLN-RSK"] == "infrastruktur.jalan"
    tables["category"]["IZIN"] = "pelayanan-publik.perizinan"
    ok = officer.put(f"/connectors/{connector}/mappings",
                     json={"mappings": {"category": tables["category"]}})
    assert ok.status_code == 200 and ok.get_json()["held"] == 0
    titles = {r["title"] for r in officer.get("/reports?limit=100").get_json()["items"]}
    assert "Izin reklame" in titles
    reader = make_caller("kab-sleman", "reports:read")
    assert reader.put(f"/connectors/{connector}/mappings",
                      json={"mappings": {}}).status_code == 403


def test_pause_resume_and_sync_now(app, sim, connector, make_caller):
    officer = make_caller("kab-sleman", "reports:read mappings:write")
    paused = officer.post(f"/connectors/{connector}/pause", json={"reason": "maintenance"})
    assert paused.get_json()["paused"] is True
    assert paused.get_json()["paused_reason"] == "maintenance"
    resumed = officer.post(f"/connectors/{connector}/resume").get_json()
    assert resumed["paused"] is False and resumed["circuit"] == "closed"
    sim.generate(3, seed=32)
    now = officer.post(f"/connectors/{connector}/sync")  # in-process: runs before answering
    assert now.status_code == 202 and now.get_json()["last_success_at"]
    assert len(officer.get("/reports").get_json()["items"]) == 3


def test_circuit_opens_after_repeated_failures(app, sim, connector, run_sync, make_caller):
    officer = make_caller("kab-sleman", "reports:read mappings:write")
    app.config["HUB_SYNC_CIRCUIT_THRESHOLD"] = 2
    try:
        sim.fault("error503")
        run_sync()
        assert officer.get("/connectors").get_json()["items"][0]["circuit"] == "closed"
        run_sync()
        item = officer.get("/connectors").get_json()["items"][0]
        assert item["circuit"] == "open" and "HTTP 503" in item["paused_reason"]
        assert item["failure_streak"] == 2
    finally:
        app.config["HUB_SYNC_CIRCUIT_THRESHOLD"] = 5
