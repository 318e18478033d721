"""A rogue agency admin's connector reaches only what the operator allows: no hub
database through a SQL connector, no server file through a spreadsheet connector, no
internal address through an HTTP connector, and no remote body in what tenants see."""
import copy
import http.server
import ipaddress
import socket
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from hub import egress
from hub.extensions import db
from hub.models import Connector, SyncRun
from hub.sync import files
from hub.sync.runner import run_connector
from tests.ui.conftest import login, page_csrf

ROOT = Path(__file__).resolve().parents[2]
JSS_FILE = ROOT / "mappings/kota-yogyakarta/jogja-smart-service.yaml"
BANTUL_FILE = ROOT / "mappings/kab-bantul/rekap-bulanan.yaml"
SLEMAN_FILE = ROOT / "mappings/kab-sleman/lapor-sleman.yaml"



# --- helpers ------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.server.seen.append({"path": self.path, "host": self.headers.get("Host")})
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.server.location)
            self.end_headers()
            return
        status = 500 if self.path.startswith("/secret") else 200
        body = b"TOPSECRET-internal-config db_password=hunter2" if status == 500 else \
            b'{"data": []}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


@contextmanager
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.seen, server.location = [], ""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def config(app, **values):
    """App settings for one block (the session-wide app keeps its own afterwards)."""
    saved = {k: app.config.get(k) for k in values}
    app.config.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                app.config.pop(key, None)
            else:
                app.config[key] = value


def run(app, connector_id):
    with app.app_context():
        r = db.session.get(SyncRun, run_connector(connector_id, "manual"))
        return {"status": r.status, "error": r.error or "", "counts": dict(r.counts)}


def store(app, doc, **config_changes):
    """A connector row as if it had been saved before these rules existed (or written
    straight into the database): the run must refuse it all the same."""
    spec = doc["connector"]
    with app.app_context():
        db.session.add(Connector(id=spec["id"], agency_code=spec["agency"], kind=spec["kind"],
                                 name=spec["id"], system=spec.get("system", spec["id"]),
                                 config={**spec["config"], **config_changes},
                                 outbound_seq=0, failure_streak=0, paused=False,
                                 interval_seconds=60, lookback_seconds=0))
        db.session.commit()
    return spec["id"]


def sql_doc(**config_changes):
    doc = copy.deepcopy(files.load_file(JSS_FILE))
    doc["connector"]["config"].update(config_changes)
    return doc


def hub_url(app, host="localhost"):
    """The hub's own database, spelled differently from its config (another host name)."""
    return sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(
        drivername="postgresql", host=host).render_as_string(False)


def import_refused(app, doc, *words):
    with app.app_context():
        with pytest.raises(files.FileError) as refused:
            files.import_document(db.session, doc)
        db.session.rollback()
        assert db.session.get(Connector, doc["connector"]["id"]) is None
    for word in words:
        assert word in str(refused.value), str(refused.value)
    return str(refused.value)


# --- SQL ----------------------------------------------------------------------------------

def test_sql_connector_cannot_name_a_database_url(app):
    url = hub_url(app)
    message = import_refused(app, sql_doc(url=url, source=None), "not a database URL")
    assert "hub_test" not in message
    cid = store(app, sql_doc(url=url))
    result = run(app, cid)
    assert result["status"] == "failed" and "not a database URL" in result["error"]
    assert result["counts"]["read"] == 0


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_sql_source_that_is_the_hub_database_is_refused(app, host):
    with config(app, HUB_SQL_SOURCES={"jss": {"url": hub_url(app, host),
                                              "agencies": ["kota-yogyakarta"]}}):
        import_refused(app, sql_doc(), "the hub's own database")
        cid = store(app, sql_doc())
        result = run(app, cid)
    assert result["status"] == "failed" and "the hub's own database" in result["error"]
    assert result["counts"]["read"] == 0


def test_sql_source_of_another_agency_or_unknown_is_refused(app):
    other = sa.make_url(hub_url(app)).set(database="postgres").render_as_string(False)
    with config(app, HUB_SQL_SOURCES={"bantul-db": {"url": other,
                                                    "agencies": ["kab-bantul"]}}):
        import_refused(app, sql_doc(source="bantul-db"), "not a database source")
        import_refused(app, sql_doc(source="no-such"), "not a database source")
        cid = store(app, sql_doc(source="bantul-db"))
        assert run(app, cid)["status"] == "failed"


def test_cli_import_refuses_a_sql_connector_on_the_hub_database(app, runner, tmp_path):
    path = tmp_path / "rogue.yaml"
    path.write_text(files.dump_yaml(sql_doc(url=hub_url(app), source=None)))
    result = runner.invoke(args=["hub", "connector", "import", str(path)])
    assert result.exit_code != 0 and "not a database URL" in result.output
    with config(app, HUB_SQL_SOURCES={"jss": {"url": hub_url(app),
                                              "agencies": ["kota-yogyakarta"]}}):
        path.write_text(files.dump_yaml(sql_doc()))
        result = runner.invoke(args=["hub", "connector", "import", str(path)])
    assert result.exit_code != 0 and "the hub's own database" in result.output
    with app.app_context():
        assert db.session.get(Connector, "jogja-smart-service") is None


def test_sqlite_hub_file_is_the_hub_database(app, tmp_path):
    from hub.sync.destinations import is_hub_database
    hub_file = tmp_path / "hub.sqlite3"
    with config(app, SQLALCHEMY_DATABASE_URI=f"sqlite:///{hub_file}"), app.app_context():
        assert is_hub_database(sa.make_url(f"sqlite:///{tmp_path}/./hub.sqlite3"))
        assert not is_hub_database(sa.make_url(f"sqlite:///{tmp_path}/other.sqlite3"))


def test_ui_refuses_a_sql_connector_on_the_hub_database(app, make_user):
    make_user("admin@jogjakota.go.id", "kota-yogyakarta", role="agency_admin")
    admin = app.test_client()
    assert login(admin, "admin@jogjakota.go.id").status_code == 302
    token = page_csrf(admin)
    form = {"kind": "sql", "id": "rogue-sql", "system": "", "agency": "kota-yogyakarta",
            "name": "rogue", "interval_seconds": "60", "lookback_seconds": "0",
            "config.timezone": "Asia/Jakarta", "config.timeout_seconds": "5",
            "config.page_size": "10",
            "config.streams": '{"reports": {"query": "SELECT * FROM api_clients", '
                              '"since_column": "created_at", "id_column": "id"}}',
            "csrf_token": token}
    with config(app, HUB_SQL_SOURCES={"jss": {"url": hub_url(app),
                                              "agencies": ["kota-yogyakarta"]}}):
        resp = admin.post("/ui/connectors/new", data={**form, "config.source": "jss"})
        assert resp.status_code == 422
        assert "hub&#39;s own database" in resp.get_data(as_text=True)
        resp = admin.post("/ui/connectors/new", data={**form, "config.source": "elsewhere"})
        assert resp.status_code == 422
    with app.app_context():
        assert db.session.get(Connector, "rogue-sql") is None


def test_sql_errors_do_not_quote_the_database(app):
    from connectors.sqlview import SqlViewConnector
    connector = SqlViewConnector({"url": hub_url(app, "127.0.0.1").replace(
        "hub_test", "nonexistent_db_x"), "streams": {}})
    with pytest.raises(Exception) as failed:
        connector.check()
    assert "nonexistent_db_x" not in str(failed.value)


# --- spreadsheets -------------------------------------------------------------------------

def recap_doc(**config_changes):
    doc = copy.deepcopy(files.load_file(BANTUL_FILE))
    doc["connector"]["config"].pop("inbox_dir", None)
    doc["connector"]["config"].update(config_changes)
    return doc


@pytest.mark.parametrize("where", [
    {"path": "/etc/hostname"}, {"inbox_dir": "/etc"}, {"inbox_dir": "../kab-sleman"},
    {"path": "sub/../../kab-sleman/rekap.csv"}, {"path": "C:\\Windows\\win.ini"}])
def test_recap_paths_outside_the_agency_inbox_are_refused(app, where):
    import_refused(app, recap_doc(**where), "inside the agency's inbox")
    cid = store(app, recap_doc(**where))
    result = run(app, cid)
    assert result["status"] == "failed" and "inbox" in result["error"], result
    assert result["counts"]["read"] == 0


def test_symlinks_leaving_the_inbox_are_refused(app, tmp_path):
    inbox = Path(app.config["HUB_INBOX_ROOT"]) / "kab-bantul"
    inbox.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "secret.csv"
    outside.write_text("No;Judul\n1;rahasia server\n")
    link = inbox / "innocent.csv"
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    try:
        cid = store(app, recap_doc(path="innocent.csv"))
        result = run(app, cid)
        assert result["status"] == "failed" and "outside the agency's inbox" in \
            result["error"], result
        with app.app_context():
            db.session.get(Connector, cid).config = recap_doc(inbox_dir=".")[
                "connector"]["config"]
            db.session.commit()
        result = run(app, cid)
        assert result["status"] == "failed" and "outside the agency's inbox" in \
            result["error"], result
        assert result["counts"]["read"] == 0
    finally:
        link.unlink()


def test_recap_upload_lands_in_the_agency_inbox(app, make_user):
    from io import BytesIO
    make_user("petugas@bantulkab.go.id", "kab-bantul")
    officer = app.test_client()
    assert login(officer, "petugas@bantulkab.go.id").status_code == 302
    with app.app_context():
        files.import_document(db.session, copy.deepcopy(files.load_file(BANTUL_FILE)))
        db.session.commit()
    page = officer.get("/ui/connectors/rekap-bantul").get_data(as_text=True)
    assert 'id="recap-upload"' in page and 'type="file"' in page
    token = page_csrf(officer, "/ui/connectors/rekap-bantul")
    body = "No;Tanggal;Tracking ID;User;Judul;Stakeholder;Tanggapan;Keterangan\n" \
           "1;04/03/2024;777;Budi;Jalan rusak;DPU;;Proses\n".encode()
    # Without the form's CSRF token: refused, nothing written.
    resp = officer.post("/ui/connectors/rekap-bantul/recaps", data={
        "recap": (BytesIO(body), "rekap.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    inbox = Path(app.config["HUB_INBOX_ROOT"]) / "kab-bantul"
    assert not (inbox / "rekap.csv").exists()
    resp = officer.post("/ui/connectors/rekap-bantul/recaps", data={
        "csrf_token": token, "recap": (BytesIO(body), "../../etc/rekap maret.csv")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    saved = inbox / "etc_rekap_maret.csv"
    assert saved.read_bytes() == body
    assert [p.name for p in inbox.iterdir() if p.name.startswith(".")] == []
    # Too large: refused, nothing written.
    with config(app, HUB_SPREADSHEET_MAX_BYTES=100):
        officer.post("/ui/connectors/rekap-bantul/recaps", data={
            "csrf_token": token, "recap": (BytesIO(body * 10), "besar.csv")},
            content_type="multipart/form-data")
    assert not (inbox / "besar.csv").exists()
    result = run(app, "rekap-bantul")
    assert result["counts"]["read"] >= 1, result
    saved.unlink()


# --- HTTP destinations --------------------------------------------------------------------

def http_docs(base_url):
    sleman = copy.deepcopy(files.load_file(SLEMAN_FILE))
    sleman["connector"]["config"]["base_url"] = base_url
    lapor = {"connector": {"id": "lapor-rogue", "agency": "kab-sleman", "kind": "lapor",
                           "config": {"base_url": base_url, "institution_id": "1"}}}
    open311 = {"connector": {"id": "open311-rogue", "agency": "kab-sleman",
                             "kind": "open311", "config": {"base_url": base_url}}}
    return [sleman, lapor, open311]


@pytest.mark.parametrize("kind", ["rest", "lapor", "open311"])
def test_http_connector_to_a_private_address_is_refused_and_says_nothing(app, kind):
    with local_server() as server, config(app, HUB_CONNECTOR_ALLOW_NETWORKS=""):
        port = server.server_address[1]
        for base in (f"http://localhost:{port}", f"http://127.0.0.1:{port}",
                     "http://169.254.169.254", "http://[::ffff:127.0.0.1]:9",
                     "http://no-such-host.invalid"):
            doc = next(d for d in http_docs(base) if d["connector"]["kind"] == kind)
            message = import_refused(app, doc, "not a destination connectors may reach")
            # Only what the tenant typed: no address it resolved to.
            typed = message.replace(f"'{urlsplit(base).hostname}'", "")
            assert "127.0.0.1" not in typed and "::1" not in typed, message
        doc = next(d for d in http_docs(f"http://localhost:{port}")
                   if d["connector"]["kind"] == kind)
        cid = store(app, doc)
        result = run(app, cid)
    assert result["status"] == "failed", result
    assert "not a destination connectors may reach" in result["error"]
    assert "127.0.0.1" not in result["error"]
    assert server.seen == [], "a request reached the internal service"


def test_allow_hosts_limits_connectors_to_the_named_hosts(app):
    with config(app, HUB_CONNECTOR_ALLOW_HOSTS="*.slemankab.go.id"):
        import_refused(app, http_docs("http://127.0.0.1:9")[0], "not among the hosts")
    with app.app_context(), config(app, HUB_CONNECTOR_ALLOW_HOSTS="*.slemankab.go.id"):
        policy = egress.connector_policy()
    assert policy.host_allowed("aduan.slemankab.go.id")
    assert not policy.host_allowed("slemankab.go.id.evil.example")


def test_remote_bodies_never_reach_the_run_error(app):
    with local_server() as server:
        doc = http_docs(f"http://127.0.0.1:{server.server_address[1]}")[0]
        doc["connector"]["config"]["streams"]["reports"]["list"]["path"] = "/secret"
        doc["connector"]["config"]["streams"].pop("responses", None)
        with app.app_context():
            files.import_document(db.session, doc, secrets={"api_key": "k"})
            db.session.commit()
        result = run(app, doc["connector"]["id"])
    assert server.seen, "the allowed local system was not called"
    assert result["status"] == "failed" and "HTTP 500" in result["error"]
    assert "TOPSECRET" not in result["error"] and "hunter2" not in result["error"]
    with app.app_context():
        assert "TOPSECRET" not in (db.session.get(Connector, doc["connector"]["id"])
                                   .last_error or "")


# --- the pinned transport -----------------------------------------------------------------

@contextmanager
def rebinding_dns(name, first, then):
    """getaddrinfo answering `first` for `name` on the first lookup, `then` afterwards
    (a DNS rebinding attacker); every other name resolves as usual."""
    real = socket.getaddrinfo
    calls = []

    def lookup(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        calls.append(host)
        addr = first if len(calls) == 1 else then
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addr, port or 80))]

    socket.getaddrinfo = lookup
    try:
        yield calls
    finally:
        socket.getaddrinfo = real


def test_pinned_session_connects_to_the_vetted_address():
    policy = egress.Policy(networks=(ipaddress.ip_network("127.0.0.1/32"),))
    with local_server() as server:
        port = server.server_address[1]
        url = f"http://aduan.rebind.test:{port}/data"
        # An unpinned client resolves again to connect, and lands on the second answer.
        with rebinding_dns("aduan.rebind.test", "127.0.0.1", "127.0.0.2") as calls:
            egress.vet(url, policy)
            with pytest.raises(requests.ConnectionError):
                requests.get(url, timeout=2)
        assert len(calls) >= 2
        # The pinned session resolves once and connects to what it vetted.
        with rebinding_dns("aduan.rebind.test", "127.0.0.1", "127.0.0.2") as calls:
            http = egress.session(policy)
            resp = http.get(url, timeout=5)
        assert resp.status_code == 200 and calls == ["aduan.rebind.test"]
        assert server.seen[-1] == {"path": "/data", "host": f"aduan.rebind.test:{port}"}
        # Answered a refused address first: nothing is sent at all.
        seen = len(server.seen)
        with rebinding_dns("aduan.rebind.test", "127.0.0.2", "127.0.0.1"):
            with pytest.raises(egress.UnsafeDestination) as refused:
                egress.session(policy).get(url, timeout=5)
        assert len(server.seen) == seen
        assert "127.0.0.2" not in str(refused.value)


def test_pinned_session_vets_every_redirect():
    policy = egress.Policy(networks=(ipaddress.ip_network("127.0.0.1/32"),))
    with local_server() as server:
        port = server.server_address[1]
        server.location = f"http://127.0.0.2:{port}/inside"
        with pytest.raises(egress.UnsafeDestination):
            egress.session(policy).get(f"http://127.0.0.1:{port}/redirect", timeout=5)
        assert [s["path"] for s in server.seen] == ["/redirect"]
        server.location = f"http://127.0.0.1:{port}/fine"
        resp = egress.session(policy).get(f"http://127.0.0.1:{port}/redirect", timeout=5)
        assert resp.status_code == 200 and server.seen[-1]["path"] == "/fine"


def test_metadata_and_special_addresses_are_refused_unless_opened():
    policy = egress.Policy()
    for url in ("http://169.254.169.254/latest", "http://168.63.129.16/", "http://[fd00:ec2::254]/",
                "http://100.100.100.200/", "http://0.0.0.0/", "http://[::1]/",
                "http://10.1.2.3/", "http://224.0.0.1/", "http://[::ffff:10.0.0.1]/"):
        with pytest.raises(egress.UnsafeDestination):
            egress.vet(url, policy)
    assert egress.vet("http://8.8.8.8/", policy) == ["8.8.8.8"]
    opened = egress.Policy(networks=(ipaddress.ip_network("10.0.0.0/8"),))
    assert egress.vet("http://10.1.2.3/", opened) == ["10.1.2.3"]


def _tls_files(tmp_path, hostname):
    """A CA and a certificate for `hostname` only (no IP address in it)."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    now = datetime.now(timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem) + key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return tmp_path / "ca.pem", tmp_path / "leaf.pem"


def test_pinned_https_keeps_sni_and_certificate_checks_for_the_name(tmp_path):
    import ssl
    ca, leaf = _tls_files(tmp_path, "aduan.rebind.test")
    policy = egress.Policy(networks=(ipaddress.ip_network("127.0.0.1/32"),))
    names = []
    with local_server() as server:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(leaf)
        context.sni_callback = lambda sock, name, ctx: names.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        port = server.server_address[1]
        url = f"https://aduan.rebind.test:{port}/data"
        with rebinding_dns("aduan.rebind.test", "127.0.0.1", "127.0.0.2"):
            resp = egress.session(policy).get(url, timeout=5, verify=str(ca))
        assert resp.status_code == 200 and names == ["aduan.rebind.test"]
        assert server.seen[-1]["host"] == f"aduan.rebind.test:{port}"
        # The certificate is still checked: it does not name the bare address.
        with pytest.raises(requests.exceptions.SSLError):
            egress.session(policy).get(f"https://127.0.0.1:{port}/data", timeout=5,
                                       verify=str(ca))
