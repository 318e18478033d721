"""Attachments, hostile side: archives and decompression bombs refused by sniffed type
(the hub accepts no archives or office files at all: it would have to unpack them to know
what they hold), traversal through the URL, oversize requests, and a hypothesis fuzz of
the upload (random bytes, names and declared types): never a 5xx, never a partial write.
"""
import bz2
import functools
import gzip
import io
import lzma
import tarfile
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.services.attachments import ALLOWED
from tests.api.test_attachments import (
    FILES,
    assert_problem,
    attachment_rows,
    raw_upload,
    stored_files,
    upload,
)

pytestmark = pytest.mark.timeout(120)
BOMB_SIZE = 20 * 1024 * 1024  # 20 MiB of zeros: about 20 KiB compressed


@functools.cache
def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("laporan.txt", "w") as member:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(BOMB_SIZE // len(chunk)):
                member.write(chunk)
    return buf.getvalue()


@functools.cache
def nested_zip() -> bytes:
    inner = zip_bomb()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(5):
            zf.writestr(f"lapis-{i}.zip", inner)
    return buf.getvalue()


def tar_file() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"isi laporan\n"
        info = tarfile.TarInfo("../../etc/cron.d/evil")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ZEROS = b"\x00" * (4 * 1024 * 1024)
ARCHIVES = {
    "zip-bomb": ("bukti.zip", zip_bomb),
    "nested-zip-bomb": ("bukti.zip", nested_zip),
    "zip-as-docx": ("surat.docx", zip_bomb),
    "zip-named-png": ("foto.png", zip_bomb),
    "gzip-bomb": ("log.txt.gz", functools.cache(lambda: gzip.compress(ZEROS, 1))),
    "bzip2-bomb": ("data.bz2", functools.cache(lambda: bz2.compress(ZEROS))),
    "xz-bomb": ("data.xz", functools.cache(lambda: lzma.compress(ZEROS, preset=0))),
    "tar-traversal": ("arsip.tar", tar_file),
    "7z": ("arsip.7z", lambda: b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 64),
    "rar": ("arsip.rar", lambda: b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64),
    "ole-doc": ("lama.doc", lambda: bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504),
}


@pytest.mark.parametrize("kind", list(ARCHIVES))
@pytest.mark.parametrize("declared", [None, "image/png"])
def test_archives_and_bombs_are_refused_by_content(app, sleman, store, kind, declared):
    name, make = ARCHIVES[kind]
    data = make()
    assert len(data) < 2 * 1024 * 1024, "the bomb must fit the size limit to test sniffing"
    report = sleman.create_report()
    resp = upload(sleman, report["id"], data, name, declared)
    assert_problem(resp, 415)
    assert stored_files(store) == [] and attachment_rows(app) == []
    assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == report["version"]


@pytest.mark.parametrize("attachment_id", [
    "..%2F..%2F..%2Fetc%2Fpasswd", "..", "%2e%2e", "00000000-0000-0000-0000-000000000000",
    "not-a-uuid", "%00",
])
def test_attachment_urls_never_reach_the_disk(sleman, store, attachment_id):
    report = sleman.create_report()
    filename, ctype, data = FILES["png"]
    assert upload(sleman, report["id"], data, filename, ctype).status_code == 201
    resp = sleman.get(f"/reports/{report['id']}/attachments/{attachment_id}")
    # A NUL is refused before any view (400 naming the parameter); the rest are 404.
    assert resp.status_code == (400 if attachment_id == "%00" else 404), resp.status_code
    assert b"root:" not in resp.data


def test_request_over_the_body_limit_is_413(app, sleman, store, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    report = sleman.create_report()
    resp = upload(sleman, report["id"], b"a" * (128 * 1024), "besar.txt", "text/plain")
    assert_problem(resp, 413)
    assert stored_files(store) == [] and attachment_rows(app) == []


@pytest.mark.parametrize("kind", list(FILES))
def test_every_served_file_has_safe_headers(sleman, store, kind):
    filename, ctype, data = FILES[kind]
    report = sleman.create_report()
    att = upload(sleman, report["id"], data, filename, ctype).get_json()
    got = sleman.get(att["url"])
    assert got.status_code == 200
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    csp = got.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp


MAGICS = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP",
          b"%PDF-", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF", b"MZ", b"<html>", b"\xef\xbb\xbf"]
DECLARED = st.sampled_from([None, "application/octet-stream", "text/plain", "image/png",
                            "image/jpeg", "application/pdf", "text/html", "image/svg+xml",
                            "application/zip", "multipart/mixed", "x/\u00e9"])


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=600),
       name=st.text(max_size=80), declared=DECLARED)
def test_fuzzed_uploads_never_5xx_never_partial(app, sleman, store, magic, tail, name,
                                                declared):
    report = sleman.get("/reports?limit=1").get_json()["items"]
    report = report[0] if report else sleman.create_report()
    files_before = len(stored_files(store))
    rows_before = len(attachment_rows(app))
    version = sleman.get(f"/reports/{report['id']}").get_json()["version"]
    data = magic + tail
    if "\x00" in name or any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        resp = raw_upload(sleman, report["id"], data, name, declared or "application/octet-stream")
    else:
        resp = upload(sleman, report["id"], data, name, declared)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    if resp.status_code == 201:
        att = resp.get_json()
        assert att["content_type"] in ALLOWED and att["size"] == len(data)
        assert len(stored_files(store)) == files_before + 1
        assert len(attachment_rows(app)) == rows_before + 1
        assert sleman.get(att["url"]).data == data
    else:
        assert resp.content_type == "application/problem+json"
        assert len(stored_files(store)) == files_before
        assert len(attachment_rows(app)) == rows_before
        assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == version
