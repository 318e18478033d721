"""Hand-made cursors (and Open311 page numbers) are a 400, never a 500: every GET route of
the API is asked with cursors whose values are out of range or of the wrong kind."""
import base64
import json
import re
import uuid

import pytest

from tests.security.test_access import all_routes, fill, good_token

PROBLEM = "application/problem+json"
UID = str(uuid.uuid4())
BAD_VALUES = [
    [2 ** 63], [-2 ** 63 - 1], [10 ** 30], [1.5], ["x"], [None], [True], [[1]], [{"a": 1}],
    [2 ** 63, UID], [-(2 ** 64), UID], ["2026-01-01T00:00:00", UID],
    ["0001-01-01T00:00:00+14:00", UID], ["9999-12-31T23:59:59-14:00", UID],
    ["2026-01-01T00:00:00+00:00", "not-a-uuid"], [1e308, 1e308], [None, None],
    {"a": 1}, "x", 7,
]


def _cursor(value) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CURSORS = [_cursor(v) for v in BAD_VALUES] + [
    "%%%", "AAAA", base64.urlsafe_b64encode(b"[" * 100000).decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(), _cursor([]) ]


def test_hand_made_cursors_are_400_on_every_list(app, client, sleman_things):
    token = good_token(app, "admin", agency="kab-sleman")  # Sleman's things are its own
    headers = {"Authorization": f"Bearer {token}"}
    failures, lists = [], 0
    spec = client.get("/api/v1/openapi.json").get_json()
    paged = {path: {p["name"] for p in ops.get("get", {}).get("parameters", [])}
             for path, ops in spec["paths"].items()}
    for rule, method, _ in all_routes(app):
        if method != "GET" or not rule.startswith("/api/v1/"):
            continue
        url = fill(app, rule, method, sleman_things)
        if "cursor" not in paged.get(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule), ()):
            continue  # not a paged list
        if client.get(url, headers=headers).status_code != 200:
            continue  # not this caller's (a subscription is its client's own)
        lists += 1
        for cursor in CURSORS:
            resp = client.get(url, query_string={"cursor": cursor}, headers=headers)
            # 422: a cursor longer than the lists accept at all (the deep nesting one).
            expected = ("/problems/invalid-cursor", "/problems/validation")
            if resp.status_code not in (400, 422) or resp.content_type != PROBLEM \
                    or resp.get_json()["type"] not in expected:
                failures.append((rule, base64.urlsafe_b64decode(cursor + "==")[:40]
                                 if cursor[0] != "%" else cursor, resp.status_code))
    assert lists >= 6, lists
    assert not failures, failures


@pytest.mark.parametrize("page", ["99999999999999999999", str(2 ** 63), "0", "-1"])
def test_open311_page_out_of_range_is_400(client, page):
    resp = client.get("/open311/v2/requests.json", query_string={"page": page})
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "page" in resp.get_json()[0]["description"]
