"""Authenticator: the headers a request to the local system carries.

Kinds: none, api_key_header, basic, bearer, oauth2_client_credentials (a token fetched
and renewed before it expires), cookie_login (POST the credentials once, keep the session
cookie the login sets, log in again when it is refused) and login_token (the same login,
the token in its JSON answer sent as Bearer).
"""
import base64
import time

import orjson

from connectors import fieldmap, http
from connectors.base import ConnectorError

KINDS = ("none", "api_key_header", "basic", "bearer", "oauth2_client_credentials",
         "cookie_login", "login_token")
SYSTEM = "the local system"


class Authenticator:
    def __init__(self, spec: dict | None, secrets: dict, session, base_url: str,
                 timeout: float):
        self.spec = spec or {"type": "none"}
        self.kind = self.spec.get("type", "none")
        if self.kind not in KINDS:
            raise ConnectorError(f"auth.type {self.kind!r} is not one of {', '.join(KINDS)}",
                                 retryable=False)
        self.secrets, self.session = secrets, session
        self.base_url, self.timeout = base_url, timeout
        self._token = None  # (value, expires at) of a fetched token or login

    @property
    def renewable(self) -> bool:
        """Whether a refusal may only mean the session ran out (log in again, once)."""
        return self.kind in ("cookie_login", "login_token", "oauth2_client_credentials")

    def forget(self) -> None:
        self._token = None

    def headers(self) -> dict:
        kind, spec = self.kind, self.spec
        if kind == "api_key_header":
            return {spec.get("header", "X-API-Key"): self.secrets.get("api_key", "")}
        if kind == "bearer":
            return {"Authorization": f"Bearer {self.secrets.get('token', '')}"}
        if kind == "basic":
            pair = f"{spec.get('username', '')}:{self.secrets.get('password', '')}"
            return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        if kind == "oauth2_client_credentials":
            return {"Authorization": f"Bearer {self._oauth()}"}
        if kind == "cookie_login":
            return {"Cookie": f"{spec.get('cookie', 'auth_token')}={self._login()}"}
        if kind == "login_token":
            return {"Authorization": f"Bearer {self._login()}"}
        return {}

    # --- fetched credentials ----------------------------------------------------------

    def _fresh(self):
        if self._token and self._token[1] > time.time() + 30:
            return self._token[0]
        return None

    def _post(self, path: str, **kwargs):
        url = path if path.startswith("http") else self.base_url + path
        resp = http.request(self.session, "POST", url, path, system=SYSTEM,
                            timeout=self.timeout, headers={"Accept": "application/json"},
                            **kwargs)
        http.raise_for_status(resp, "POST", path, system=SYSTEM,
                              credential="the login credentials")
        return resp

    def _oauth(self) -> str:
        token = self._fresh()
        if token:
            return token
        data = {"grant_type": "client_credentials",
                "client_id": self.secrets.get("client_id", ""),
                "client_secret": self.secrets.get("client_secret", "")}
        if self.spec.get("scope"):
            data["scope"] = self.spec["scope"]
        body = _json(self._post(self.spec["token_url"], data=data))
        if not isinstance(body, dict) or "access_token" not in body:
            raise ConnectorError("the OAuth2 token endpoint returned no access_token",
                                 retryable=False)
        self._token = (body["access_token"],
                       time.time() + float(body.get("expires_in", 300)))
        return self._token[0]

    def _login(self) -> str:
        token = self._fresh()
        if token:
            return token
        spec = self.spec
        path = spec.get("login_path")
        if not path:
            raise ConnectorError(f"auth.type {self.kind} needs login_path", retryable=False)
        values = {"username": spec.get("username") or self.secrets.get("username", ""),
                  "password": self.secrets.get("password", "")}
        body = fieldmap.render(spec.get("body") or {"email": "{username}",
                                                    "password": "{password}"}, values)
        resp = self._post(path, json=body)
        if self.kind == "cookie_login":
            name = spec.get("cookie", "auth_token")
            value = resp.cookies.get(name)
            if not value:
                raise ConnectorError(f"POST {path}: the login answered without setting the "
                                     f"'{name}' cookie; check auth.cookie and the "
                                     "credentials", retryable=False)
        else:
            value = fieldmap.get_path(_json(resp), spec.get("token_path", "token"))
            if not value:
                raise ConnectorError(f"POST {path}: the login answer has no token at "
                                     f"'{spec.get('token_path', 'token')}'", retryable=False)
        # Sessions are not told how long they last: keep one for `session_seconds`, and
        # log in again earlier when the local system refuses it.
        self._token = (str(value), time.time() + float(spec.get("session_seconds", 3600)))
        return self._token[0]


def _json(resp):
    try:
        return orjson.loads(resp.content) if resp.content else None
    except orjson.JSONDecodeError:
        return None
