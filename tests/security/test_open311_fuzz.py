"""Hypothesis fuzz of the Open311 write endpoints (POST requests and mySociety's
servicerequestupdates): whatever the form holds, never a 5xx, errors in Open311's own
error format, and a refused request writes nothing."""
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.extensions import db

pytestmark = pytest.mark.timeout(180)
BASE = "/open311/v2"
ANY_TEXT = st.text(max_size=60)
NUMBERISH = st.one_of(ANY_TEXT, st.floats(allow_nan=True, allow_infinity=True).map(str),
                      st.sampled_from(["-7.77", "110.39", "91", "-181", "1e308", "nan",
                                       "0x10", " 1 ", "", "-0"]))
STAMPS = st.one_of(ANY_TEXT, st.sampled_from([
    "2026-11-20T08:00:00+07:00", "2026-11-20T08:00:00", "2026-13-40T99:99:99Z",
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-11-20"]))


def _counts(app):
    with app.app_context():
        out = tuple(db.session.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("reports", "responses", "report_events", "open311_tokens"))
        db.session.remove()
    return out


def _check_answer(resp, fmt):
    assert resp.status_code < 500, resp.get_data(as_text=True)
    if resp.status_code >= 400:
        if fmt == "json":
            body = resp.get_json()
            assert isinstance(body, list) and body and "description" in body[0], body
            assert body[0]["code"] == resp.status_code
        else:
            assert resp.data.lstrip().startswith(b"<?xml")


def _maybe(strategy):
    return st.one_of(st.none(), strategy)


REQUEST_FORM = st.fixed_dictionaries({}, optional={
    "service_code": st.one_of(st.sampled_from(["infrastruktur.jalan", "", "x" * 101]),
                              ANY_TEXT),
    "description": st.one_of(ANY_TEXT, st.just("Jalan rusak\n" * 3)),
    "lat": NUMBERISH, "long": NUMBERISH,
    "address_string": ANY_TEXT,
    "first_name": ANY_TEXT, "last_name": ANY_TEXT,
    "email": ANY_TEXT, "phone": ANY_TEXT,
    "attribute[classification]": st.one_of(ANY_TEXT, st.sampled_from(
        ["complaint", "aspiration", "information_request"])),
    "attribute[anonymous]": st.sampled_from(["true", "false", "yes", ""]),
    "attribute[occurred_at]": STAMPS,
    "attribute[nonsense]": ANY_TEXT,
})


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(form=REQUEST_FORM, fmt=st.sampled_from(["json", "xml"]),
       key_kind=st.sampled_from(["good", "good", "good", "none", "wrong"]))
def test_fuzzed_service_requests(app, client, make_key, form, fmt, key_kind):
    key = getattr(test_fuzzed_service_requests, "_key", None)
    if key is None:
        key = test_fuzzed_service_requests._key = make_key()
    data = {k: v for k, v in form.items() if v is not None}
    if key_kind == "good":
        data["api_key"] = key
    elif key_kind == "wrong":
        data["api_key"] = key + "x"
    before = _counts(app)
    resp = client.post(f"{BASE}/requests.{fmt}", data=data)
    _check_answer(resp, fmt)
    after = _counts(app)
    if resp.status_code == 201:
        assert key_kind == "good"
        assert after[0] == before[0] + 1 and after[3] == before[3] + 1
    else:
        assert after == before, (resp.status_code, resp.get_data(as_text=True))
        if key_kind != "good":
            # A NUL anywhere in the input is refused (400) before any view, key or not.
            nul = any("\x00" in k or "\x00" in v for k, v in data.items())
            assert resp.status_code == (400 if nul else 403), resp.get_data(as_text=True)


@settings(max_examples=50, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(status=st.one_of(ANY_TEXT, st.sampled_from(["open", "closed", "OPEN", "CLOSED"])),
       updated=STAMPS, description=ANY_TEXT, update_id=_maybe(ANY_TEXT),
       sid_kind=st.sampled_from(["real", "random", "empty"]), fmt=st.sampled_from(["json"]))
def test_fuzzed_request_updates(app, client, make_key, status, updated, description,
                                update_id, sid_kind, fmt):
    state = getattr(test_fuzzed_request_updates, "_state", None)
    if state is None:
        key = make_key()
        made = client.post(f"{BASE}/requests.json", data={
            "api_key": key, "service_code": "infrastruktur.jalan",
            "description": "Lampu jalan mati di depan SD", "address_string": "Jl. Affandi"})
        assert made.status_code == 201, made.get_data(as_text=True)
        state = test_fuzzed_request_updates._state = (key, made.get_json()[0]
                                                      ["service_request_id"])
    key, sid = state
    data = {"api_key": key, "status": status, "updated_datetime": updated,
            "description": description,
            "service_request_id": {"real": sid, "random": "9" * 12, "empty": ""}[sid_kind]}
    if update_id is not None:
        data["update_id"] = update_id
    before = _counts(app)
    resp = client.post(f"{BASE}/servicerequestupdates.{fmt}", data=data)
    _check_answer(resp, fmt)
    if resp.status_code >= 400:
        assert _counts(app) == before, resp.get_data(as_text=True)


@pytest.fixture(autouse=True)
def _fresh_state():
    """The memo of a key/report lives for one test (the tables are emptied after it)."""
    for test in (test_fuzzed_service_requests, test_fuzzed_request_updates):
        test.__dict__.pop("_key", None)
        test.__dict__.pop("_state", None)
    yield
