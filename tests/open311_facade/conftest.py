"""The Open311 facade served over real HTTP (werkzeug's make_server on 127.0.0.1 in a
thread), spoken to with plain `requests` the way an outside Open311 client would."""
import secrets
import threading
import xml.etree.ElementTree as ET

import pytest
import requests
from werkzeug.serving import make_server

from hub.extensions import db
from hub.models import ApiClient, Open311Key, hash_open311_key, hash_secret


@pytest.fixture
def open311(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Open311Client(f"http://127.0.0.1:{server.server_port}/open311/v2")
    finally:
        server.shutdown()
        thread.join(timeout=10)


class Open311Client:
    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **params):
        return self.http.get(f"{self.base}/{path}", params=params, timeout=10)

    def post(self, path: str, data: dict):
        return self.http.post(f"{self.base}/{path}", data=data, timeout=10)

    def both(self, path: str, **params):
        """GET path.json and path.xml: (json body, parsed XML root), both 200."""
        j = self.get(f"{path}.json", **params)
        x = self.get(f"{path}.xml", **params)
        assert j.status_code == 200, j.text
        assert x.status_code == 200, x.text
        assert j.headers["Content-Type"].startswith("application/json")
        assert x.headers["Content-Type"].startswith("text/xml")
        assert x.content.startswith(b"<?xml")
        return j.json(), ET.fromstring(x.content)


@pytest.fixture
def make_key(app):
    """make_key(agency, scopes) -> an Open311 api_key of a fresh API client."""
    def make(agency="kab-sleman", scopes="reports:read reports:write", active=True):
        client_id = f"o311-{agency}-{secrets.token_hex(4)}"
        key = f"o311_{secrets.token_urlsafe(24)}"
        with app.app_context():
            db.session.add(ApiClient(id=client_id, name=client_id, agency_code=agency,
                                     scopes=scopes, secret_hash=hash_secret("x"),
                                     active=active))
            db.session.flush()
            db.session.add(Open311Key(client_id=client_id, key_hash=hash_open311_key(key)))
            db.session.commit()
        return key
    return make


def post_request(open311, key, fmt="json", **fields):
    data = {"api_key": key, "service_code": "infrastruktur.jalan",
            "description": "Lampu jalan mati\nSudah seminggu gelap di depan SD Caturtunggal.",
            "lat": "-7.7701", "long": "110.3890", "address_string": "Jl. Affandi, Depok",
            **fields}
    return open311.post(f"requests.{fmt}", {k: v for k, v in data.items() if v is not None})
