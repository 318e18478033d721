"""The UI's gettext catalogues (hub/translations): both languages carry the same keys,
every key the code and templates ask for exists, counts take their plural form, and dates
and numbers are written the session language's way."""
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import session

from hub.ui import i18n

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "hub"


def _ids(lang: str) -> dict[str, bool]:
    """msgid -> has plural forms."""
    return {(m.id[0] if m.pluralizable else m.id): m.pluralizable
            for m in i18n.catalogue(lang) if m.id}


@pytest.fixture
def in_lang(app):
    """Run code in a request whose session speaks `lang`."""
    def enter(lang):
        ctx = app.test_request_context("/ui/")
        ctx.push()
        session["lang"] = lang
        return ctx
    pushed = []
    yield lambda lang: pushed.append(enter(lang))
    for ctx in reversed(pushed):
        ctx.pop()


# -- the catalogues -------------------------------------------------------------------------

def test_both_catalogues_have_exactly_the_same_msgids_and_plural_kinds():
    ours, theirs = _ids("id"), _ids("en")
    assert set(ours) == set(theirs), set(ours) ^ set(theirs)
    assert ours == theirs, {k for k in ours if ours[k] != theirs[k]}
    assert len(ours) > 300


@pytest.mark.parametrize("lang,nplurals", [("id", 1), ("en", 2)])
def test_every_message_is_translated_with_the_language_plural_forms(lang, nplurals):
    catalog = i18n.catalogue(lang)
    assert catalog.num_plurals == nplurals
    assert f"nplurals={nplurals};" in catalog.plural_forms
    for m in catalog:
        if not m.id:
            continue
        assert not m.fuzzy, m.id
        forms = m.string if m.pluralizable else (m.string,)
        assert len(forms) == (nplurals if m.pluralizable else 1) and all(forms), m.id


def test_the_placeholders_are_the_same_in_both_languages():
    def names(message):
        text = " ".join(message.string) if message.pluralizable else message.string
        return set(re.findall(r"\{([a-z_]+)\}", text))
    en = {m.id: m for m in i18n.catalogue("en") if m.id}
    for m in i18n.catalogue("id"):
        if m.id:
            assert names(m) == names(en[m.id]), m.id


# The calls: i18n.t/tn/has in Python, t/tn/has_t in templates. Their first argument is a
# key ("error.not_found"), a choice of keys ('a' if x else 'b'), or a key built at run
# time from a literal prefix ('status.' ~ s, f"status.{s}", "users." + x).
PY_CALL = re.compile(r"\bi18n\.(tn|t|has)\(|\b(?P<page>_error_page)\(\s*[\w.]+\s*,")
# hub/ui/i18n.py calls its own functions by their bare names.
OWN_CALL = re.compile(r"(?<![\w.])(tn|t|has)\(")
JINJA_CALL = re.compile(r"(?<![\w.])(tn|t|has_t)\(")
LITERAL = re.compile(r"""(f?)(["'])([^"']*)\2""")
KEY = re.compile(r"[a-z_]+(\.[a-z_0-9]+)+")


def _first_argument(text: str, start: int) -> str:
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            i = text.index(ch, i + 1)
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            break
        i += 1
    return text[start:i]


def _used_keys():
    """{key: (file, function)} of the literal keys, and {prefix: file} of built ones."""
    literal, prefixes = {}, {}
    for path in sorted([*HUB.rglob("*.py"), *(HUB / "templates").rglob("*.html")]):
        text = path.read_text(encoding="utf-8")
        calls = JINJA_CALL if path.suffix == ".html" else (
            OWN_CALL if path == HUB / "ui" / "i18n.py" else PY_CALL)
        for call in calls.finditer(text):
            # _error_page(status, key) shows t(key).
            fn = "t" if call.groupdict().get("page") else {"has_t": "has"}.get(
                call.group(1), call.group(1))
            arg = _first_argument(text, call.end()).strip()
            strings = LITERAL.findall(arg)
            if not strings:
                continue  # a key in a variable: the call that built it is scanned
            f, _, first = strings[0]
            if (f and "{" in first) or arg[len(first) + 2 + len(f):].lstrip().startswith(
                    ("~", "+")):
                prefixes.setdefault(first.split("{")[0], path)
            else:
                for _, _, key in strings:
                    if KEY.fullmatch(key):
                        literal.setdefault(key, (path, fn))
    return literal, prefixes


def test_every_key_used_in_the_hub_exists_in_the_catalogues():
    literal, prefixes = _used_keys()
    # The scan finds what the UI uses: guard against a regex that silently matches nothing.
    assert {"error.not_found", "webhooks.err_url_private", "time.minutes", "mappings.saved",
            "dashboard.in_time_of", "webhooks.disable", "webhooks.enable"} <= set(literal)
    assert {"status.", "channel.", "count.", "kind.", "users.", "form.err_json_"} <= set(prefixes)
    kinds = _ids("id")
    missing = {k: str(p.relative_to(ROOT)) for k, (p, _) in literal.items() if k not in kinds}
    assert not missing, missing
    for key, (path, fn) in literal.items():
        if fn == "tn":
            assert kinds[key], f"{key} is no plural but {path} calls tn()"
        elif fn == "t":
            assert not kinds[key], f"{key} is a plural but {path} calls t()"
    orphans = {p for p in prefixes if not any(k.startswith(p) for k in kinds)}
    assert not orphans, orphans


def test_a_missing_key_fails_under_testing(in_lang):
    in_lang("en")
    with pytest.raises(KeyError, match="untranslated UI string 'no.such.key'"):
        i18n.t("no.such.key")
    with pytest.raises(TypeError, match="use tn"):
        i18n.t("time.minutes", n=2)
    with pytest.raises(TypeError, match="use t"):
        i18n.tn("error.not_found", 2)


# -- plurals --------------------------------------------------------------------------------

@pytest.mark.parametrize("lang,seconds,text", [
    ("en", 0, "just now"), ("en", 59, "just now"), ("en", 60, "1 minute ago"),
    ("en", 119, "1 minute ago"), ("en", 120, "2 minutes ago"), ("en", 3600, "1 hour ago"),
    ("en", 3 * 3600, "3 hours ago"), ("en", 2 * 86400, "2 days ago"),
    ("id", 30, "baru saja"), ("id", 60, "1 menit lalu"), ("id", 120, "2 menit lalu"),
    ("id", 7200, "2 jam lalu"), ("id", 5 * 86400, "5 hari lalu"),
])
def test_relative_times(in_lang, lang, seconds, text):
    in_lang(lang)
    assert i18n.ago(seconds) == text


@pytest.mark.parametrize("lang,seconds,text", [
    ("en", 1, "1 second"), ("en", 45, "45 seconds"), ("en", 60, "1 minute"),
    ("en", 150, "2 minutes"), ("en", 86400, "24 hours"), ("en", 86400 * 1500, "1,500 days"),
    ("id", 1, "1 detik"), ("id", 45, "45 detik"), ("id", 60, "1 menit"),
    ("id", 86400 * 1500, "1.500 hari"),
])
def test_durations(in_lang, lang, seconds, text):
    in_lang(lang)
    assert i18n.duration(seconds) == text


def test_counts_take_their_plural_form(in_lang):
    in_lang("en")
    assert i18n.tn("webhooks.attempts", 1) == "1 attempt"
    assert i18n.tn("webhooks.attempts", 3) == "3 attempts"
    assert i18n.tn("webhooks.replay_queued", 1234) == "1,234 deliveries queued."
    assert i18n.tn("dashboard.in_time_of", 1, n=1, m=1) == "1 of 1 report"
    assert i18n.tn("dashboard.in_time_of", 4, n=2, m=4) == "2 of 4 reports"
    assert i18n.tn("dashboard.hours", 1.0) == "1 hour"
    assert i18n.tn("dashboard.hours", 1.5) == "1.5 hours"
    released = i18n.tn("records.released", 1)
    assert i18n.tn("mappings.saved", 1, released=released) == \
        "1 mapping saved; 1 held record arrived in the hub."
    in_lang("id")
    assert i18n.tn("webhooks.attempts", 1) == "1 percobaan"
    assert i18n.tn("webhooks.attempts", 3) == "3 percobaan"
    assert i18n.tn("dashboard.hours", 1.5) == "1,5 jam"
    assert i18n.tn("mappings.saved", 2, released=i18n.tn("records.released", 2)) == \
        "2 pemetaan disimpan; 2 catatan tertahan masuk ke hub."


# -- dates and numbers ----------------------------------------------------------------------

MOMENT = datetime(2026, 12, 3, 7, 5, tzinfo=UTC)  # 14:05 in Jakarta


def test_dates_in_indonesian_and_english_in_wib(in_lang):
    in_lang("id")
    assert i18n.datetime_text(MOMENT) == "3 Des 2026 14.05 WIB"
    assert i18n.datetime_text(MOMENT.replace(month=8, day=17, hour=17)) == \
        "18 Agu 2026 00.05 WIB"  # past midnight in Jakarta: the next day
    assert i18n.datetime_text(None) == "–"
    in_lang("en")
    assert i18n.datetime_text(MOMENT) == "Dec 3, 2026, 2:05\u202fPM WIB"


def test_the_dt_filter_follows_the_hub_time_zone(app, in_lang):
    in_lang("id")
    dt = app.jinja_env.filters["dt"]
    assert dt(MOMENT - timedelta(days=1)) == "2 Des 2026 14.05 WIB"
    app.config["HUB_DEFAULT_TZ"] = "Asia/Makassar"  # the app fixture puts it back
    assert dt(MOMENT) == "3 Des 2026 15.05 WITA"


@pytest.mark.parametrize("lang,big,share", [("id", "1.234.567", "50%"),
                                            ("en", "1,234,567", "50%")])
def test_numbers(in_lang, lang, big, share):
    in_lang(lang)
    assert i18n.number(1234567) == big
    assert i18n.percent(0.5) == share
    assert i18n.number(None) == i18n.percent(None) == "–"
    # Numbers in a message's placeholders are written the same way.
    assert i18n.t("form.err_range", low=10, high=86400) == (
        "Harus antara 10 dan 86.400." if lang == "id" else "Must be between 10 and 86,400.")


def test_flask_babel_answers_with_the_session_language(in_lang):
    import flask_babel
    in_lang("en")
    assert str(flask_babel.get_locale()) == "en"
    assert str(flask_babel.get_timezone()) == "Asia/Jakarta"
