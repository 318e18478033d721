"""One-off: write hub/translations/{id,en}/LC_MESSAGES/messages.po from the Python dicts
of hub/ui/i18n.py (CATALOGUE), keeping the symbolic keys as msgids, so that the dicts can
be deleted. Run once from the checkout: `.venv/bin/python scripts/i18n_dicts_to_po.py`.

The dicts had no plural forms; the counts that need one are listed in PLURALS with their
English singular (Bahasa Indonesia has one form), and the few strings that plurals and
"just now" need are in NEW.
"""
import re
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from hub.ui.i18n import CATALOGUE, LANGS

ROOT = Path(__file__).resolve().parent.parent

# key -> {lang: forms}; forms are (singular, plural) for English and (one,) for Indonesian.
# A form left out comes from the dict.
PLURALS: dict[str, dict[str, tuple[str, ...]]] = {
    "connector.seconds": {"en": ("{n} second", "{n} seconds")},
    "time.minutes": {"en": ("{n} minute", "{n} minutes")},
    "time.hours": {"en": ("{n} hour", "{n} hours")},
    "time.days": {"en": ("{n} day", "{n} days")},
    "dashboard.in_time_of": {"en": ("{n} of {m} report", "{n} of {m} reports")},
    "dashboard.hours": {"en": ("{n} hour", "{n} hours")},
    "dashboard.def_in_time": {"en": (
        CATALOGUE["en"]["dashboard.def_in_time"].replace("working days", "working day"),
        CATALOGUE["en"]["dashboard.def_in_time"])},
    "users.password_help": {"en": ("at least {n} character", "at least {n} characters")},
    "users.err_password": {"en": ("The password needs at least {n} character.",
                                  "The password needs at least {n} characters.")},
    "webhooks.attempts": {"en": ("{n} attempt", "{n} attempts")},
    "webhooks.replay_queued": {"en": ("{n} delivery queued.", "{n} deliveries queued.")},
    "webhooks.err_agencies_many": {"en": ("At most {n} agency.", "At most {n} agencies.")},
    # Two counts in one sentence: the mappings are counted here, the released records in
    # records.released, which fills {released}.
    "mappings.saved": {"en": ("{n} mapping saved; {released}.", "{n} mappings saved; {released}."),
                       "id": ("{n} pemetaan disimpan; {released}.",)},
    "records.released": {"en": ("{n} held record arrived in the hub",
                                "{n} held records arrived in the hub"),
                         "id": ("{n} catatan tertahan masuk ke hub",)},
    "time.seconds": {"en": ("{n} second", "{n} seconds"), "id": ("{n} detik",)},
}

# New singular strings: key -> {lang: text}.
NEW: dict[str, dict[str, str]] = {
    "time.just_now": {"id": "baru saja", "en": "just now"},
    "import.done": {"id": "Pemetaan diimpor; {released}.", "en": "Mappings imported; {released}."},
}

HEADER = """\
# {language} text of the LAPOR! hub's officer UI (hub/ui, hub/templates/ui).
# The msgids are symbolic keys (the code calls t("key") and tn("key", n)); translate the
# msgstr only. README.md, "Translations", says how to edit this file and add a string."""

# What a placeholder stands for, for the translator's comment.
PLACEHOLDERS = {
    "n": "a number", "m": "a number", "name": "a name", "email": "an email address",
    "detail": "the reason, often a system message in English", "at": "a date and time",
    "host": "a host name", "code": "a code", "values": "local values, comma-separated",
    "released": "the held records released (records.released)", "mb": "megabytes",
    "low": "a number", "high": "a number", "type": "a JSON type", "id": "a delivery id",
    "ms": "milliseconds",
}


def _forms(key: str, lang: str) -> tuple[str, ...] | str:
    if key in PLURALS:
        forms = PLURALS[key].get(lang)
        if forms is None:
            forms = (CATALOGUE[lang][key],)
        return forms
    if key in NEW and lang in NEW[key]:
        return NEW[key][lang]
    return CATALOGUE[lang][key]


def _comments(key: str, lang: str) -> list[str]:
    other = "en" if lang == "id" else "id"
    theirs = _forms(key, other)
    shown = " | ".join(theirs) if isinstance(theirs, tuple) else theirs
    notes = [f"{'English' if other == 'en' else 'Bahasa Indonesia'}: {shown}"]
    ours = _forms(key, lang)
    names = sorted(set(re.findall(r"\{([a-z_]+)\}", " ".join(ours) if isinstance(ours, tuple)
                                  else ours)))
    if names:
        notes.append("Keep " + ", ".join(f"{{{n}}} ({PLACEHOLDERS.get(n, 'a value')})"
                                         for n in names) + " as written.")
    if key in PLURALS:
        notes.append("Plural: chosen by {n}." if key != "dashboard.in_time_of"
                     else "Plural: chosen by {m}, the number of reports.")
    return notes


def main():
    keys = list(CATALOGUE["id"]) + [k for k in (*PLURALS, *NEW) if k not in CATALOGUE["id"]]
    for lang in LANGS:
        catalog = Catalog(locale=lang, domain="messages", project="lapor-hub",
                          version="0.1.0", copyright_holder="LAPOR! integration hub",
                          creation_date=datetime(2026, 12, 3, tzinfo=timezone.utc),
                          revision_date=datetime(2026, 12, 3, tzinfo=timezone.utc),
                          language_team="Bahasa Indonesia" if lang == "id" else "English",
                          last_translator="the hub's maintainers", fuzzy=False,
                          msgid_bugs_address="the hub's maintainers",
                          header_comment=HEADER.format(
                              language="Bahasa Indonesia" if lang == "id" else "English"))
        for key in keys:
            forms = _forms(key, lang)
            msgid = (key, key) if isinstance(forms, tuple) else key
            catalog.add(msgid, forms, auto_comments=_comments(key, lang))
        out = ROOT / "hub" / "translations" / lang / "LC_MESSAGES" / "messages.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fh:
            write_po(fh, catalog, width=96, omit_header=False, sort_output=False)
        print(out.relative_to(ROOT), len(catalog), catalog.plural_forms)


if __name__ == "__main__":
    main()
