"""JSON and XML bodies of the Open311 facade, and its error arrays.

Every answer is built once as plain Python (lists of dicts) and then written either as
JSON or as XML, so the two formats cannot drift apart. XML is built with ElementTree,
which escapes text; characters XML 1.0 cannot carry at all are replaced (see _xml_text).
"""
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from flask import current_app, json

FORMATS = ("json", "xml")
MIMETYPES = {"json": "application/json", "xml": "text/xml"}
# The child element of each list, by the list's name (GeoReport v2 and mySociety).
ITEM_TAGS = {
    "services": "service", "service_requests": "request", "errors": "error",
    "attributes": "attribute", "values": "value", "endpoints": "endpoint",
    "formats": "format", "service_request_updates": "request_update",
}
# C0 controls other than tab/newline/CR, lone surrogates and U+FFFE/U+FFFF are not XML.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    """An error answered as GeoReport v2 errors: [{code, description}], HTTP status = code."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__("; ".join(descriptions))
        self.status, self.descriptions = status, list(descriptions)

    def body(self) -> list:
        return [{"code": self.status, "description": d} for d in self.descriptions]


def w3c(value: datetime | None) -> str | None:
    """A stored (UTC) timestamp as a W3C datetime with its offset, e.g. 2026-11-23T02:15:00Z."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_w3c(text: str, name: str) -> datetime:
    """An input timestamp; one without an offset is refused, never guessed."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} must be a W3C datetime with an offset, "
                                "e.g. 2026-11-23T09:30:00+07:00") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise Open311Error(400, f"{name} has no UTC offset; send e.g. "
                                "2026-11-23T09:30:00+07:00 or 2026-11-23T02:30:00Z")
    return parsed.astimezone(timezone.utc)


def render(body, fmt: str, root: str, status: int = 200):
    """body: a list (root wraps its items) or a dict (root is the element itself)."""
    if fmt == "xml":
        data = ET.tostring(_element(root, body), encoding="utf-8", xml_declaration=True)
    else:
        data = json.dumps(body, ensure_ascii=False).encode()
    return current_app.response_class(data, status=status,
                                      content_type=f"{MIMETYPES[fmt]}; charset=utf-8")


def render_error(error: Open311Error, fmt: str):
    return render(error.body(), fmt if fmt in FORMATS else "json", "errors", error.status)


def _element(tag: str, value) -> ET.Element:
    el = ET.Element(tag)
    if isinstance(value, dict):
        for key, child in value.items():
            el.append(_element(key, child))
    elif isinstance(value, (list, tuple)):
        item_tag = ITEM_TAGS.get(tag, "item")
        for child in value:
            el.append(_element(item_tag, child))
    elif value is not None:
        el.text = _xml_text(value)
    return el


def _xml_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))
