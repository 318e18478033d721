"""Large plain response bodies written by orjson, byte for byte as Flask's jsonify would.

A batch answers with 1000 results; marshmallow's dump of them and the standard library's
encoder took a tenth of the batch's time. orjson writes the very bytes of Flask's
compact output (sorted keys, no spaces, ASCII only, a final newline) when the body holds
only dicts with str keys, lists, str, int, bool and None, and every character it writes
is printable ASCII: the standard library escapes the rest as \\uXXXX where orjson writes
UTF-8, and writes some floats differently (1e-06 against 0.000001). Any other body, and
any setting of the app's JSON provider other than its defaults, goes to Flask's own
response. tests/api/test_plainjson.py compares the two.
"""
import orjson
from flask import current_app
from flask.json.provider import DefaultJSONProvider

_SCALARS = (str, int, bool, type(None))


def response(body, status: int):
    """current_app.json.response(body) with this status, the same bytes, faster."""
    provider = current_app.json
    if _default_settings(provider) and _plain(body):
        try:
            data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        except (orjson.JSONEncodeError, TypeError):  # an int beyond 64 bits
            data = None
        if data is not None and data.isascii() and b"\x7f" not in data:
            return current_app.response_class(data + b"\n", status=status,
                                              mimetype=provider.mimetype)
    resp = provider.response(body)
    resp.status_code = status
    return resp


def _default_settings(provider) -> bool:
    """Flask's provider as shipped, writing compact output (not in debug mode)."""
    return type(provider) is DefaultJSONProvider and provider.sort_keys is True and \
        provider.ensure_ascii is True and (provider.compact is True or (
            provider.compact is None and not current_app.debug))


def _plain(value) -> bool:
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind in _SCALARS:
                continue
            if not _plain(item):
                return False
        return True
    if kind is list:
        return all(type(item) in _SCALARS or _plain(item) for item in value)
    return kind in _SCALARS
