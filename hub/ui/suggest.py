"""Ranked mapping suggestions for an unmapped local value.

Three sources, strongest first: what other agencies' connectors mapped the same word to;
for statuses, a lexicon of the words Indonesian local systems use, read in the
life-cycle's direction; for the other fields, string similarity of the value (and a
sample record's title) against the hub's labels and codes (rapidfuzz).

Statuses are never matched by spelling alone: "Belum" (not yet) is close to "Selesai"
(resolved) as strings and opposite in meaning, and a wrong status mapping would mark
unhandled complaints resolved. A suggestion is preselected only when it is both strong
and clearly ahead of the next one (`preselect`).
"""
import re
from collections import Counter

from rapidfuzz import fuzz, utils

from hub.sync.mapping import local_key

PRESELECT_SCORE = 90   # below this an officer must pick a target themselves
PRESELECT_MARGIN = 10  # ...and when two targets are about as likely

# Words of local status vocabularies, by the hub status they mean. Matched on whole
# words; the first status whose word appears wins, so the earlier life-cycle steps
# (checked first) win over later ones in a value naming both ("belum selesai").
STATUS_WORDS = {
    "received": ("belum", "menunggu", "baru", "masuk", "diterima", "terkirim", "tertunda",
                 "pending", "antre", "antri", "open", "new", "submitted", "received"),
    "rejected": ("ditolak", "tolak", "duplikat", "spam", "invalid", "rejected", "batal"),
    "verified": ("verifikasi", "diverifikasi", "terverifikasi", "valid", "verified"),
    "dispositioned": ("disposisi", "didisposisi", "terdisposisi", "diteruskan",
                      "dialihkan", "dispositioned", "assigned"),
    "in_progress": ("proses", "diproses", "sedang", "ditindaklanjuti", "tindaklanjut",
                    "dikerjakan", "penanganan", "progress", "ongoing"),
    "resolved": ("selesai", "tuntas", "beres", "terselesaikan", "resolved", "done",
                 "solved", "fixed", "completed"),
    "closed": ("ditutup", "tutup", "arsip", "diarsipkan", "closed", "archived"),
}
# A negation moves the meaning back to "not started": "belum ditindaklanjuti".
NEGATIONS = ("belum", "tidak", "tak", "not", "no")
_WORD = re.compile(r"[a-z]+")


def rank(field: str, value: str, sample: str | None, choices: list[tuple[str, str]],
         peers: Counter | None = None, limit: int = 5):
    """[(hub value, label, score 0-100)], best first; weak matches are left out."""
    labels = dict(choices)
    scores: dict[str, int] = {}
    for code, count in (peers or Counter()).items():
        if code in labels:
            share = count / sum(peers.values())
            scores[code] = round(70 + 30 * share)
    if field in ("status", "status_out"):
        for code, score in _status_scores(value, labels).items():
            scores[code] = max(scores.get(code, 0), score)
    else:
        for code, score in _similarity(value, sample, choices):
            scores[code] = max(scores.get(code, 0), score)
    ranked = sorted(((code, labels[code], score) for code, score in scores.items()
                     if score >= 40), key=lambda x: (-x[2], x[1]))
    return ranked[:limit]


def preselect(ranked: list) -> str | None:
    """The target to preselect, if one is strong and clearly ahead; else None."""
    if not ranked or ranked[0][2] < PRESELECT_SCORE:
        return None
    if len(ranked) > 1 and ranked[0][2] - ranked[1][2] < PRESELECT_MARGIN:
        return None
    return ranked[0][0]


def _status_scores(value: str, labels: dict) -> dict[str, int]:
    key = local_key(value)
    words = _WORD.findall(key.replace("_", " ").replace("-", " "))
    out: dict[str, int] = {}
    for code, label in labels.items():
        if local_key(label) == key or code == key:
            out[code] = 100
    if not words:
        return out
    if any(w in NEGATIONS for w in words):
        hit = "received"  # "not yet ...": nothing has been done
    else:
        hit = next((code for code, vocab in STATUS_WORDS.items()
                    if any(w in vocab for w in words)), None)
    if hit in labels:
        out[hit] = max(out.get(hit, 0), 95 if len(words) == 1 else 85)
    return out


def _similarity(value: str, sample: str | None, choices):
    v = utils.default_process(value.replace("-", " ").replace("_", " "))
    s = utils.default_process(sample or "")
    for code, label in choices:
        lab = utils.default_process(label)
        tail = utils.default_process(code.rsplit(".", 1)[-1].replace("-", " "))
        score = max(fuzz.WRatio(v, lab), fuzz.WRatio(v, tail),
                    fuzz.partial_ratio(v, lab) if len(v) >= 3 else 0)
        if s:
            score = max(score, 0.85 * fuzz.token_set_ratio(s, lab))
        yield code, round(score)


def peer_mappings(session, field: str, values: list[str], connector_id: str) -> dict:
    """{local key: Counter(hub value)} of what other connectors mapped these words to."""
    import sqlalchemy as sa

    from hub.models import Mapping
    keys = {local_key(v) for v in values}
    found: dict = {}
    if not keys:
        return found
    rows = session.execute(sa.select(Mapping.local_value, Mapping.hub_value).where(
        Mapping.field == field, Mapping.connector_id != connector_id))
    for local, hub in rows:
        k = local_key(local)
        if k in keys:
            found.setdefault(k, Counter())[hub] += 1
    return found
