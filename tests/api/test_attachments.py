"""Attachments: multipart upload, type checked by content, size limits, safe names and
storage, download headers, tenant isolation."""
import io
import re
import struct
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Attachment

PROBLEM = "application/problem+json"


# --- tiny valid files ---------------------------------------------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def tiny_png() -> bytes:
    """A valid 1x1 red RGB PNG."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


# A valid 1x1 greyscale baseline JPEG (SOI, DQT, SOF0, DHT, SOS, EOI).
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c14"
    "0d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d"
    "38323c2e333432ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000"
    "000102030405060708090a0bffc400b5100002010303020403050504040000017d0102030004110512"
    "2131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a2526272829"
    "2a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a83"
    "8485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8"
    "c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00"
    "d2cf20ffd9")


def tiny_pdf() -> bytes:
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return out


TEXT = "Laporan warga: jalan rusak ꦱꦼꦭꦩꦤ꧀ 🚧 شارع\n".encode("utf-8")
FILES = {
    "png": ("foto.png", "image/png", tiny_png()),
    "jpeg": ("foto.jpg", "image/jpeg", TINY_JPEG),
    "pdf": ("surat.pdf", "application/pdf", tiny_pdf()),
    "text": ("catatan.txt", "text/plain", TEXT),
}


# --- helpers --------------------------------------------------------------------------------

def upload(caller, report_id, data, filename="f.bin", content_type=None, field="file",
           headers=None):
    part = (io.BytesIO(data), filename, content_type) if content_type else \
        (io.BytesIO(data), filename)
    return caller.post(f"/reports/{report_id}/attachments", data={field: part},
                       content_type="multipart/form-data", headers=headers)


def raw_upload(caller, report_id, data, filename, content_type="application/octet-stream"):
    """A multipart body built by hand, the name sent as RFC 5987 filename*: the hub gets
    exactly this string (control characters included), as from a hostile client."""
    from urllib.parse import quote
    boundary = "hub-test-boundary-7d3f"
    name = f"filename*=UTF-8''{quote(filename, safe='')}" if filename else 'filename=""'
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; {name}\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    return caller.post(f"/reports/{report_id}/attachments", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def assert_problem(resp, status):
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def stored_files(root) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def attachment_rows(app):
    with app.app_context():
        rows = db.session.execute(sa.select(Attachment)).scalars().all()
        db.session.remove()
    return rows


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    """A fresh attachment directory inside a sandbox directory of its own: anything
    written outside the attachment directory shows up in the sandbox."""
    sandbox = tmp_path / "sandbox"
    root = sandbox / "deep" / "attachments"
    root.mkdir(parents=True)
    monkeypatch.setitem(app.config, "HUB_ATTACHMENT_DIR", str(root))
    return root


# --- uploads and downloads --------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(FILES))
def test_upload_and_download_round_trip(app, sleman, store, kind):
    filename, ctype, data = FILES[kind]
    report = sleman.create_report()
    resp = upload(sleman, report["id"], data, filename, ctype)
    assert resp.status_code == 201, resp.get_json()
    att = resp.get_json()
    assert att["filename"] == filename
    assert att["content_type"] == ctype
    assert att["size"] == len(data)
    assert att["url"] == f"/api/v1/reports/{report['id']}/attachments/{att['id']}"
    assert resp.headers["Location"] == att["url"]

    got = sleman.get(att["url"])
    assert got.status_code == 200
    assert got.data == data
    assert got.mimetype == ctype
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert filename in disposition
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"]

    # Listed on the report, which moved one version on.
    after = sleman.get(f"/reports/{report['id']}").get_json()
    assert after["attachments"] == [att]
    assert after["version"] == report["version"] + 1
    # Exactly one file on disk, holding the bytes, under a key that is not the name.
    files = stored_files(store)
    assert len(files) == 1 and files[0].read_bytes() == data
    assert filename not in str(files[0])


def test_octet_stream_is_classified_by_content(sleman, store):
    report = sleman.create_report()
    resp = upload(sleman, report["id"], tiny_png(), "kamera-upload", "application/octet-stream")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["content_type"] == "image/png"
    # A name without extension: the client declares octet-stream, content decides.
    resp = upload(sleman, report["id"], tiny_pdf(), "scan")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["content_type"] == "application/pdf"


def test_utf8_bom_text_and_unicode_filename(sleman, store):
    report = sleman.create_report()
    data = b"\xef\xbb\xbf" + TEXT
    resp = upload(sleman, report["id"], data, "ꦱꦼꦭꦩꦤ꧀ 🚧.txt", "text/plain")
    assert resp.status_code == 201, resp.get_json()
    att = resp.get_json()
    assert att["filename"] == "ꦱꦼꦭꦩꦤ꧀ 🚧.txt"
    got = sleman.get(att["url"])
    assert got.data == data
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=UTF-8''" in got.headers["Content-Disposition"]


def test_several_attachments_listed_in_order(sleman, store):
    report = sleman.create_report()
    ids = []
    for kind in ("png", "pdf", "text"):
        filename, ctype, data = FILES[kind]
        ids.append(upload(sleman, report["id"], data, filename, ctype).get_json()["id"])
    got = sleman.get(f"/reports/{report['id']}").get_json()
    assert [a["id"] for a in got["attachments"]] == ids
    assert got["version"] == 4
    # Each URL serves its own bytes.
    for att, kind in zip(got["attachments"], ("png", "pdf", "text"), strict=True):
        assert sleman.get(att["url"]).data == FILES[kind][2]


# --- types ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("data,declared", [
    (tiny_png(), "image/jpeg"), (TINY_JPEG, "image/png"), (tiny_pdf(), "image/png"),
    (TEXT, "image/png"), (TEXT, "application/pdf"), (tiny_png(), "text/plain"),
    (b"<html><script>alert(1)</script></html>", "text/html"),
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/svg+xml"),
])
def test_declared_type_must_match_content(app, sleman, store, data, declared):
    report = sleman.create_report()
    body = assert_problem(upload(sleman, report["id"], data, "x", declared), 415)
    assert declared in body["detail"]
    assert stored_files(store) == [] and attachment_rows(app) == []
    assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == 1


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x90" * 64
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


def _zip() -> bytes:
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("laporan.txt", "isi")
    return buf.getvalue()


@pytest.mark.parametrize("name,data", [
    ("run.exe", PE), ("a.out", ELF), ("laporan.zip", _zip()),
    ("dokumen.docx", _zip()), ("latin1.txt", "Jl. Malioboro \xe9\xe8 caf\xe9".encode("latin-1")),
    ("half.png", b"\x89PNG\r\n"),  # truncated magic: binary, not an image
    ("utf16.txt", "teks".encode("utf-16")),
])
@pytest.mark.parametrize("declared", [None, "application/octet-stream"])
def test_unsupported_content_is_415(app, sleman, store, name, data, declared):
    report = sleman.create_report()
    body = assert_problem(upload(sleman, report["id"], data, name, declared), 415)
    assert body["detail"]
    assert stored_files(store) == [] and attachment_rows(app) == []


def test_html_is_stored_as_plain_text_and_never_served_inline(sleman, store):
    """UTF-8 HTML is text: the hub keeps it, but as text/plain, served as a download
    with nosniff and a sandboxing CSP, so a browser never renders its script."""
    report = sleman.create_report()
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    for declared in ("text/plain", "application/octet-stream"):
        resp = upload(sleman, report["id"], html, "bukti.html", declared)
        assert resp.status_code == 201, resp.get_json()
        att = resp.get_json()
        assert att["content_type"] == "text/plain"
        got = sleman.get(att["url"])
        assert got.data == html
        assert got.mimetype == "text/plain"
        assert "html" not in got.headers["Content-Type"]
        assert got.headers["Content-Disposition"].startswith("attachment")
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        csp = got.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "sandbox" in csp


# --- names and storage ------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\x.png", "x.png"),
    ("/etc/shadow", "shadow"),
    ("C:\\Windows\\system32\\evil.png", "evil.png"),
    ("..", "lampiran"),
    ("../", "lampiran"),
    ("....", "lampiran"),
    ("", "lampiran"),
    ("foto\x00.png.exe", "foto.png.exe"),
    ("foto\r\nX-Injected: 1.png", "fotoX-Injected 1.png"),
    ("\x1b[31mred\x7f.png", "[31mred.png"),
    ('a"b<c>d|e?f*.png', "abcdef.png"),
    ("  .hidden.png. ", "hidden.png"),
    ("x" * 300 + ".png", "x" * 200),
])
def test_filenames_are_sanitised(app, sleman, store, raw, expected):
    report = sleman.create_report()
    resp = raw_upload(sleman, report["id"], tiny_png(), raw, "image/png")
    assert resp.status_code == 201, resp.get_json()
    att = resp.get_json()
    assert att["filename"] == expected
    assert not re.search(r"[\x00-\x1f\x7f/\\]", att["filename"])
    got = sleman.get(att["url"])
    assert got.status_code == 200 and got.data == tiny_png()
    assert "\r" not in got.headers["Content-Disposition"]
    assert "X-Injected" not in got.headers
    # Nothing outside the attachment directory; inside it only <2 hex>/<32 hex> keys.
    sandbox = store.parent.parent
    files = stored_files(sandbox)
    assert files == stored_files(store) and len(files) == 1
    rel = files[0].relative_to(store).as_posix()
    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}", rel), rel
    assert not (store.parent / "passwd").exists() and not Path(store, "..", "x.png").exists()


# --- limits and missing parts -------------------------------------------------------------------

def test_oversize_is_413_and_nothing_stored(app, sleman, store, monkeypatch):
    monkeypatch.setitem(app.config, "HUB_ATTACHMENT_MAX_BYTES", 1024)
    report = sleman.create_report()
    text = b"a" * 1025
    body = assert_problem(upload(sleman, report["id"], text, "big.txt", "text/plain"), 413)
    assert "1 KiB" in body["detail"]
    png = tiny_png() + b"\x00" * 2000
    assert_problem(upload(sleman, report["id"], png, "big.png", "image/png"), 413)
    assert stored_files(store) == [] and attachment_rows(app) == []
    assert sleman.get(f"/reports/{report['id']}").get_json()["attachments"] == []
    assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == 1
    # Exactly at the limit is accepted.
    resp = upload(sleman, report["id"], b"a" * 1024, "exact.txt", "text/plain")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["size"] == 1024


def test_default_limit_is_2_mib(app, sleman, store):
    assert app.config["HUB_ATTACHMENT_MAX_BYTES"] == 2 * 1024 * 1024
    report = sleman.create_report()
    resp = upload(sleman, report["id"], b"b" * (2 * 1024 * 1024 + 1), "big.txt")
    assert_problem(resp, 413)
    assert stored_files(store) == []


def test_empty_file_is_422(app, sleman, store):
    report = sleman.create_report()
    body = assert_problem(upload(sleman, report["id"], b"", "kosong.png", "image/png"), 422)
    assert "file" in body["errors"]
    assert stored_files(store) == [] and attachment_rows(app) == []


@pytest.mark.parametrize("kwargs", [
    {"data": {"upload": (io.BytesIO(b"teks"), "a.txt")}, "content_type": "multipart/form-data"},
    {"data": {"file": "teks biasa, bukan berkas"}, "content_type": "multipart/form-data"},
    {"data": {}, "content_type": "multipart/form-data"},
    {"json": {"file": "aGFsbw=="}},
    {"data": b"raw bytes", "content_type": "application/octet-stream"},
])
def test_missing_file_field_is_422(app, sleman, store, kwargs):
    report = sleman.create_report()
    resp = sleman.post(f"/reports/{report['id']}/attachments", **kwargs)
    body = assert_problem(resp, 422)
    assert "file" in body["errors"]
    assert stored_files(store) == [] and attachment_rows(app) == []


# --- access -------------------------------------------------------------------------------------

def test_other_tenant_cannot_download_or_upload(app, sleman, bantul, make_caller, store):
    report = sleman.create_report()
    att = upload(sleman, report["id"], tiny_png(), "foto.png", "image/png").get_json()
    for caller in (bantul, make_caller("kemenpanrb")):
        got = caller.get(att["url"])
        assert_problem(got, 404)
        assert got.data != tiny_png()
        assert_problem(upload(caller, report["id"], TEXT, "x.txt"), 404)
    assert_problem(sleman.client.get(att["url"]), 401)
    assert len(stored_files(store)) == 1 and len(attachment_rows(app)) == 1


def test_attachment_id_must_belong_to_the_report(sleman, store):
    one, two = sleman.create_report(), sleman.create_report()
    att = upload(sleman, one["id"], tiny_png(), "foto.png", "image/png").get_json()
    assert_problem(sleman.get(f"/reports/{two['id']}/attachments/{att['id']}"), 404)
    for bad in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "..%2F..%2Fetc%2Fpasswd"):
        assert_problem(sleman.get(f"/reports/{one['id']}/attachments/{bad}"), 404)
    # By tracking id the same attachment is reachable.
    assert sleman.get(f"/reports/{one['tracking_id']}/attachments/{att['id']}").data == \
        tiny_png()


def test_past_agency_reads_but_cannot_upload(app, sleman, bantul, store):
    report = sleman.create_report()
    att = upload(sleman, report["id"], tiny_png(), "foto.png", "image/png").get_json()
    sleman.status(report["id"], "verified")
    assert sleman.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": "kab-bantul"}).status_code == 200
    assert sleman.get(att["url"]).data == tiny_png()
    assert bantul.get(att["url"]).data == tiny_png()
    assert_problem(upload(sleman, report["id"], TEXT, "late.txt"), 403)
    assert len(stored_files(store)) == 1
    resp = upload(bantul, report["id"], TEXT, "bantul.txt")
    assert resp.status_code == 201, resp.get_json()


def test_read_scope_cannot_upload(sleman, make_caller, store):
    report = sleman.create_report()
    reader = make_caller("kab-sleman", "reports:read")
    assert_problem(upload(reader, report["id"], TEXT, "a.txt"), 403)
    assert stored_files(store) == []


def test_upload_is_on_the_timeline(sleman, store):
    report = sleman.create_report()
    att = upload(sleman, report["id"], tiny_png(), "../foto.png", "image/png",
                 headers={"X-Source-System": "sleman-lapor-app"}).get_json()
    events = sleman.get(f"/reports/{report['id']}/events").get_json()["items"]
    added = events[-1]
    assert added["type"] == "attachment.added"
    assert added["data"] == {"attachment_id": att["id"], "filename": "foto.png"}
    assert added["source_system"] == "sleman-lapor-app"
    assert added["actor_agency"] == "kab-sleman"
    assert added["report_version"] == 2


def test_idempotency_key_replays_an_upload(app, sleman, store):
    report = sleman.create_report()
    key = {"Idempotency-Key": "att-1"}
    first = upload(sleman, report["id"], tiny_png(), "foto.png", "image/png", headers=key)
    assert first.status_code == 201
    again = upload(sleman, report["id"], tiny_png(), "foto.png", "image/png", headers=key)
    assert again.status_code == 201, again.get_json()
    assert again.get_json() == first.get_json()
    assert len(attachment_rows(app)) == 1
