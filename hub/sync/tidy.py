"""Local records that almost fit the hub's rules, made to fit without losing anything.

A regional app allows a 255-character title where the hub takes 200, or keeps a
coordinate of 0 or "-" where it has none. Failing the whole complaint for that would keep
it from LAPOR! over a detail: the title is shortened with the full text kept at the top
of the body, an unusable coordinate pair is dropped (the address stays), and a required
field the local system never has takes the connector's configured default.
"""
import math

TITLE_MAX = 200  # the contract's limit on a report title


def tidy_report(payload: dict, defaults: dict | None = None) -> list[str]:
    """Fix `payload` (a report upsert, hub field names) in place. Returns the fields it
    changed (other than defaults filled in), for the run's count and the log."""
    for name, value in (defaults or {}).items():
        if payload.get(name) in (None, ""):
            payload[name] = value
    changed = []
    title = payload.get("title")
    if isinstance(title, str) and len(title) > TITLE_MAX:
        payload["title"] = title[:TITLE_MAX - 1].rstrip() + "…"
        body = payload.get("body") or ""
        if not body.startswith(title):
            payload["body"] = f"{title}\n\n{body}" if body else title
        changed.append("title")
    location = payload.get("location")
    if isinstance(location, dict) and ("lat" in location or "lon" in location) \
            and not _usable_point(location.get("lat"), location.get("lon")):
        payload["location"] = {k: v for k, v in location.items() if k not in ("lat", "lon")}
        changed.append("location")
    return changed


def _usable_point(lat, lon) -> bool:
    if lat is None and lon is None:
        return True  # nothing to drop
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 \
        and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0)
