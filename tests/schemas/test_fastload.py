"""The fast load path returns exactly what marshmallow's load returns, or hands over."""
import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from hub.api.sync import OperationSchema
from hub.models import CHANNELS, CLASSIFICATIONS, STATUSES, VISIBILITIES
from hub.schemas.fastload import DEFER, FastLoad
from hub.schemas.fields import OUT_OF_RANGE
from hub.schemas.reports import (
    ExternalRefSchema,
    LocationSchema,
    PrivacySchema,
    ReporterSchema,
    ReportInSchema,
    ResponseInSchema,
    SourceReportInSchema,
)

WELL_FORMED = {
    "title": "Jalan berlubang di Jl. Kaliurang", "body": "Lubang besar di depan pasar.",
    "category": "infrastruktur.jalan", "channel": "instagram", "classification": "complaint",
    "location": {"text": "Padukuhan 3, Sleman", "region_code": "34.04", "lat": -7.7,
                 "lon": 110},
    "submitted_at": "2026-11-01T08:00:00+07:00", "occurred_at": None,
    "privacy": {"anonymous": True, "confidential": False},
    "reporter": {"name": "Siti", "phone": "0812000000", "email": None},
    "agency": "kab-sleman", "status": "in_progress",
    "source_updated_at": "2026-11-02T01:02:03.456Z",
}

# Values that are often valid and often not, at the edges of every rule of the schemas.
texts = st.one_of(
    st.text(max_size=8), st.sampled_from(["", "a", "x" * 64, "x" * 65, "x" * 200,
                                          "x" * 201, "ada\x00nul", "lone \ud800 half",
                                          "ꦱꦼꦭꦩꦤ꧀ 🚧", "34.04", "a@b.id", "not-an-email"]))
words = st.sampled_from([*CHANNELS, *CLASSIFICATIONS, *STATUSES, *VISIBILITIES,
                         "upsert_report", "add_response", "change_status", "Web", "?"])
# Timestamps: every spelling datetime.fromisoformat takes or refuses near the rules
# (offset or none, basic format, week dates, a comma, odd offsets, 64 characters).
offsets = st.one_of(st.none(), st.builds(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)), st.integers(-1439, 1439)))
stamps = st.one_of(st.sampled_from([
    "2026-11-01T08:00:00+07:00", "2026-11-01T08:00:00Z", "2026-11-01T08:00:00",
    "2026-11-01", "2026-13-01T00:00:00Z", "2026-11-01T08:00:00.123456-03:30", "1 Nov 2026",
    "x" * 70, "2026-11-01T08:00:00+0700", "2026-11-01T08:00+07", "2026-11-01 08:00:00Z",
    "20261101T080000Z", "2026-W44-7T08:00:00Z", "2026-11-01T08:00:00,5+07:00",
    "2026-11-01T24:00:00Z", "2026-11-01T08:00:00+24:00", "2026-11-01T08:00:00-00:00",
    "2026-11-01T08:00:00.1234567Z", "2026-11-01T08:00:00+07:00:30.5",
    "2026-11-01T08:00:00.000000+07:00" + " " * 32, "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "２０２６-11-01T08:00:00Z"]),
    st.builds(lambda d, sep: d.isoformat(sep=sep), st.datetimes(timezones=offsets),
              st.sampled_from(["T", " "])))
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-200, 200),
                    st.sampled_from([math.nan, math.inf, -math.inf, 90, 90.0000001, -180.0,
                                     10 ** 400, "45", True]))
scalars = st.one_of(st.none(), texts, words, stamps, numbers, st.booleans(),
                    st.just(b"bytes"))


def objects(keys):
    """Dicts over the given keys (each optional) plus, now and then, an unknown one."""
    return st.fixed_dictionaries({}, optional={
        **{k: st.one_of(scalars, st.builds(dict)) for k in keys}, "unknown_key": scalars})


def nested(keys, extra=()):
    return st.one_of(objects(keys), scalars, st.lists(scalars, max_size=1), *extra)


def reports():
    """Well-formed reports with some fields replaced by generated values."""
    overrides = st.fixed_dictionaries({}, optional={
        "title": st.one_of(texts, scalars), "body": texts, "category": texts,
        "channel": st.one_of(words, scalars), "classification": words,
        "status": st.one_of(words, st.none()), "agency": st.one_of(texts, st.none()),
        "submitted_at": st.one_of(stamps, scalars), "source_updated_at": stamps,
        "occurred_at": st.one_of(stamps, st.none()),
        "location": nested(["text", "region_code", "lat", "lon"],
                           [st.fixed_dictionaries({"lat": numbers, "lon": numbers})]),
        "privacy": nested(["anonymous", "confidential"],
                          [st.fixed_dictionaries({"anonymous": scalars})]),
        "reporter": nested(["name", "phone", "email"],
                           [st.fixed_dictionaries({"email": texts})]),
        "unknown_key": scalars,
    })
    drops = st.sets(st.sampled_from(sorted(WELL_FORMED)), max_size=3)
    return st.builds(lambda o, d: {k: v for k, v in {**WELL_FORMED, **o}.items()
                                   if k not in d}, overrides, drops)


def assert_same_as_marshmallow(schema, data):
    fast = FastLoad(schema).fast_result(data)
    try:
        expected = schema.load(data)
    except ValidationError:
        assert fast is DEFER, f"fast path accepted what marshmallow refuses: {data!r}"
        return
    if fast is not DEFER:
        # repr: equal values of different types (1 and 1.0, a datetime in another zone)
        # must not pass for the same result.
        assert repr(fast) == repr(expected)


@pytest.mark.parametrize("schema", [SourceReportInSchema(), ReportInSchema()])
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(reports(), objects(sorted(WELL_FORMED)), scalars))
def test_report_loads_match_marshmallow(schema, data):
    assert_same_as_marshmallow(schema, data)


@pytest.mark.parametrize("schema, values", [
    (LocationSchema(), {"text": texts, "region_code": texts, "lat": numbers,
                        "lon": numbers}),
    (PrivacySchema(), {"anonymous": scalars, "confidential": scalars}),
    (ReporterSchema(), {"name": texts, "phone": texts, "email": texts})])
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_nested_loads_match_marshmallow(schema, values, data):
    assert_same_as_marshmallow(schema, data.draw(st.fixed_dictionaries({}, optional={
        **values, "unknown_key": scalars})))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.fixed_dictionaries({}, optional={
    "body": texts, "visibility": words, "author_name": st.one_of(texts, st.none()),
    "created_at": st.one_of(stamps, st.none()),
    "external_ref": nested(["system", "external_id"], [st.fixed_dictionaries(
        {"system": st.sampled_from(["lapor-sleman", "-bad", "a b", "x" * 65]),
         "external_id": texts})]),
    "unknown_key": scalars}))
def test_response_loads_match_marshmallow(data):
    assert_same_as_marshmallow(ResponseInSchema(), data)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.fixed_dictionaries({"op": words}, optional={
    "system": texts, "external_id": texts, "report": st.one_of(reports(), scalars),
    "status": texts, "note": st.one_of(texts, st.none()), "response": nested(["body"]),
    "report_ref": nested(["system", "external_id"]), "unknown_key": scalars}))
def test_operation_loads_match_marshmallow(data):
    assert_same_as_marshmallow(OperationSchema(), data)


def test_well_formed_records_take_the_fast_path():
    schema = SourceReportInSchema()
    loader = FastLoad(schema)
    minimal = {k: WELL_FORMED[k] for k in ("title", "body", "category", "channel")}
    for data in (WELL_FORMED, minimal):
        fast = loader.fast_result(data)
        assert fast is not DEFER
        assert repr(fast) == repr(schema.load(data))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.fixed_dictionaries({}, optional={
    "system": st.one_of(texts, st.sampled_from(["lapor-sleman", "-bad", "a:b.c_d", "x" * 65])),
    "external_id": texts, "unknown_key": scalars}))
def test_validate_matches_marshmallow(data):
    schema = ExternalRefSchema()
    assert FastLoad(schema).validate(data) == schema.validate(data)


def test_bad_records_raise_marshmallows_own_errors():
    schema = SourceReportInSchema()
    bad = {**WELL_FORMED, "title": "", "channel": "fax", "privacy": {"anonymous": "maybe"},
           "extra": 1}
    with pytest.raises(ValidationError) as fast_error:
        FastLoad(schema).load(bad)
    with pytest.raises(ValidationError) as slow_error:
        schema.load(bad)
    assert fast_error.value.messages == slow_error.value.messages


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_timestamp_beyond_utc_range_is_a_field_error(stamp):
    """Converted to UTC these fall outside years 1..9999: a 422 naming the field, not a
    500 from an OverflowError (both paths)."""
    schema = SourceReportInSchema()
    data = {**WELL_FORMED, "submitted_at": stamp}
    for load in (schema.load, FastLoad(schema).load):
        with pytest.raises(ValidationError) as raised:
            load(data)
        assert raised.value.messages == {"submitted_at": [OUT_OF_RANGE]}


def test_well_formed_records_need_no_field_call(monkeypatch):
    """The common field types (timestamps, e-mail, raw values included) are settled by
    the fast path's own checks: a well-formed record never reaches Field.deserialize."""
    from marshmallow import fields
    report = {**WELL_FORMED, "reporter": {**WELL_FORMED["reporter"], "email": "a@b.id"}}
    operation = {"op": "upsert_report", "system": "s", "external_id": "1", "report": report}
    loaders = [(FastLoad(SourceReportInSchema()), report),
               (FastLoad(OperationSchema()), operation),
               (FastLoad(ResponseInSchema()), {"body": "Sudah.", "created_at":
                                               "2026-11-01T08:00:00Z"})]

    def refuse(*args, **kwargs):
        raise AssertionError("Field.deserialize called on well-formed input")

    monkeypatch.setattr(fields.Field, "deserialize", refuse)
    for loader, data in loaders:
        assert loader.fast_result(data) is not DEFER
