"""hub.api.plainjson writes the bytes Flask's jsonify writes, or leaves it to jsonify;
the batch's 207 body is what BatchResultSchema's dump through jsonify would be."""
import math

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields

from hub.api import plainjson
from hub.api.sync import BatchResultSchema, BatchSchema, RawItems
from tests.api.test_batches import batch, upsert

keys = st.one_of(st.text(max_size=6), st.sampled_from(["id", "é", "\x7f", "a\x00", "b"]))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2 ** 70, 2 ** 70),
    st.sampled_from([2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63 - 1]),
    st.text(max_size=10), st.sampled_from(["\x7f", "\u2028", "é", "😀", "\ud800", "\x1f"]),
    st.floats(), st.sampled_from([1e-06, 1e16, math.nan, -math.inf, 0.5]))
bodies = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4),
    st.tuples(inner)), max_leaves=20)


@pytest.fixture(scope="module")
def bare_app():
    return Flask(__name__)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies)
def test_same_bytes_as_jsonify(bare_app, body):
    with bare_app.app_context():
        fast = plainjson.response(body, 207)
        slow = bare_app.json.response(body)
        assert fast.status_code == 207
        assert fast.mimetype == slow.mimetype
        assert fast.get_data() == slow.get_data()


def test_debug_mode_writes_what_jsonify_writes(bare_app):
    body = {"results": [{"index": 0, "op": None}], "failed": 0}
    bare_app.debug = True
    try:
        with bare_app.app_context():
            assert plainjson.response(body, 207).get_data() == \
                bare_app.json.response(body).get_data()
            assert b"\n  " in plainjson.response(body, 207).get_data()
    finally:
        bare_app.debug = False


def test_batch_body_is_the_schemas_dump_through_jsonify(app, sleman):
    """Successes and failures of every kind: the bytes sent are those of the slow path
    (BatchResultSchema().dump, then jsonify)."""
    ops = [upsert("P-1"), upsert("P-1"), "junk", None, {"op": "nope"},
           upsert("P-2", title=""), upsert("P-3", category="tidak.ada"),
           upsert("P-4", title="Jalan rusak di dekat pasar Godéan ☔"),
           {"op": "change_status", "report_ref": {"system": "sleman-app",
                                                  "external_id": "P-1"},
            "status": "verified"}]
    resp = batch(sleman, ops)
    assert resp.status_code == 207
    with app.app_context():
        expected = app.json.response(BatchResultSchema().dump(resp.get_json())).get_data()
    assert resp.get_data() == expected


@pytest.mark.parametrize("value", [[], [1, None, "x", {"op": 1}, [2]], "x", {"a": 1},
                                   None, 7, (1, 2)])
def test_raw_items_load_as_a_list_of_raw(value):
    slow = fields.List(fields.Raw(allow_none=True))
    fast = RawItems(fields.Raw(allow_none=True))
    try:
        expected = slow.deserialize(value)
    except ValidationError as error:
        with pytest.raises(ValidationError) as raised:
            fast.deserialize(value)
        assert raised.value.messages == error.messages
        return
    got = fast.deserialize(value)
    assert got == expected and type(got) is list and got is not value


def test_batch_envelope_keeps_its_messages():
    schema = BatchSchema()
    for body in ({}, {"operations": []}, {"operations": "x"},
                 {"operations": [None] * 1001}):
        with pytest.raises(ValidationError) as raised:
            schema.load(body)
        assert "operations" in raised.value.messages
