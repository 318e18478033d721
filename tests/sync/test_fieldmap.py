"""Field paths and conversion of the declarative connectors (connectors/fieldmap.py)."""
from datetime import datetime, timedelta, timezone

import pytest

from connectors import fieldmap

FIELDS = {
    "external_id": "id",
    "title": "judul",
    "location.text": "lokasi.alamat",
    "location.lat": {"path": "lokasi.koordinat.0", "type": "float"},
    "privacy.anonymous": {"path": "anonim", "map": {True: True, False: False,
                                                     "ya": True}, "type": "bool"},
    "channel": {"path": "kanal", "default": "web"},
    "status": {"path": "status", "map": {"Menunggu": "received"}},
    "updated_at": {"path": "diubah", "type": "datetime"},
    "classification": {"const": "complaint"},
}


def test_extractor_reads_flat_nested_listed_mapped_converted_and_default_fields():
    extract = fieldmap.Extractor(FIELDS, "Asia/Jakarta")
    got = extract({"id": 7, "judul": "Jalan rusak", "lokasi": {"alamat": "Tugu",
                   "koordinat": ["-7.5", "110.4"]}, "anonim": "ya", "status": "Menunggu",
                   "diubah": "2026-11-01 08:00:00"})
    assert got == {
        "external_id": 7, "title": "Jalan rusak", "location.text": "Tugu",
        "location.lat": -7.5, "privacy.anonymous": True, "channel": "web",
        "status": "received",
        "updated_at": datetime(2026, 11, 1, 8, tzinfo=timezone(timedelta(hours=7))),
        "classification": "complaint"}
    # Missing and unmapped values: None, the default, or the local value kept as it is.
    got = extract({"id": "A-1", "kanal": "sms", "status": "Baru", "anonim": False})
    assert (got["title"], got["location.text"], got["location.lat"]) == (None, None, None)
    assert (got["channel"], got["status"], got["privacy.anonymous"]) == ("sms", "Baru", False)


def test_extractor_names_the_field_whose_value_cannot_be_converted():
    extract = fieldmap.Extractor(FIELDS, None)
    with pytest.raises(ValueError, match="updated_at: timestamp '2026-11-01 08:00:00' has no"):
        extract({"id": 1, "diubah": "2026-11-01 08:00:00"})
    with pytest.raises(ValueError, match="location.lat"):
        extract({"id": 1, "lokasi": {"koordinat": ["utara"]}})


def test_set_path_nests_dotted_names_and_keeps_siblings():
    fields: dict = {}
    for path, value in [("title", "T"), ("location.text", "Tugu"), ("location.lat", -7.5),
                        ("reporter.contact.phone", "0812")]:
        fieldmap.set_path(fields, path, value)
    assert fields == {"title": "T", "location": {"text": "Tugu", "lat": -7.5},
                      "reporter": {"contact": {"phone": "0812"}}}
