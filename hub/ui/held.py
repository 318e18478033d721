"""A held record's detail in the officer's language.

The sync engine writes each hold's detail in English (hub/sync/inbound.py), for the API
and the operator's log; the officer's pages tell the known ones in the officer's language
with the same facts (where it was forwarded, to which agency, in which status), and keep
the hub's words behind "Rincian teknis". A detail the hub does not know is shown as is.
"""
import re

from hub.ui import i18n

# (catalogue key, the engine's sentence): named groups become the message's values.
_KNOWN = (
    ("held.detail.discard_forwarded", re.compile(
        r"^While held here, the source forwarded this record to (?P<where>.+?): it is no "
        r"longer this agency's\. Discard it\.$", re.S)),
    ("held.detail.discard_gone", re.compile(
        r"^While held here, the source stopped showing this record to this connector")),
    ("held.detail.gone", re.compile(r"^The source no longer shows this report to this "
                                    r"connector")),
    ("held.detail.no_agency", re.compile(
        r"^The source forwarded this report to (?P<where>.+?), which names no hub agency\.",
        re.S)),
    ("held.detail.no_disposition", re.compile(
        r"^The source forwarded this report to (?P<where>.+?) \((?P<agency>[^()]+) in the "
        r"hub\), but the hub holds it '(?P<status>[a-z_]+)'", re.S)),
    ("held.detail.waiting", re.compile(r"^its report has not reached the hub yet$")),
)


def detail(text: str | None) -> str | None:
    """The translated sentence for a held record's detail, or None when the hub does
    not know it (the page then shows the detail itself)."""
    if not text:
        return None
    for key, pattern in _KNOWN:
        if match := pattern.match(text):
            values = match.groupdict()
            if "where" in values:
                values["where"] = _where(values["where"])
            if "status" in values:
                values["status"] = i18n.t(f"status.{values['status']}") \
                    if i18n.has(f"status.{values['status']}") else values["status"]
            return i18n.t(key, **values)
    return None


def _where(text: str) -> str:
    """'institution 3402 (Pemerintah Kabupaten Bantul)' in the officer's words."""
    match = re.match(r"^institution (?P<id>\S+)(?: \((?P<name>.+)\))?$", text, re.S)
    if not match:
        return text
    if match.group("name"):
        return i18n.t("held.where_named", id=match.group("id"), name=match.group("name"))
    return i18n.t("held.where", id=match.group("id"))
