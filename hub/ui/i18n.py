"""The officers' UI in Bahasa Indonesia (the default) and English.

The text is in gettext catalogues, hub/translations/<lang>/LC_MESSAGES/messages.po, whose
msgids are symbolic keys ("error.not_found"); README.md ("Translations") says how to edit
them. `t(key, **kw)` and `tn(key, n, **kw)` (a count's plural form) are Jinja globals and
are called from Python; the language is stored in the session ("id" or "en"). Dates and
numbers follow the session's language (Babel's CLDR data), in the hub's time zone.
A missing key raises under TESTING so an untranslated string fails the tests.
"""
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import current_app, has_app_context, has_request_context, session
from flask_babel import Babel

LANGS = ("id", "en")
DEFAULT = "id"
# The CLDR locale of each language: Indonesian as written in Indonesia.
LOCALES = {"id": "id_ID", "en": "en"}
# Shipped in the wheel as package data; read as .po (no compile step to forget).
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_TZ = "Asia/Jakarta"


def init_app(app):
    """Flask-Babel answers with the session's language and the hub's time zone too, for
    anything that asks it (flask_babel.get_locale()). The UI itself formats through this
    module, which reads the session on every call: Flask-Babel keeps its choice on `g`,
    which outlives a language switch when requests share an app context. Its Jinja
    gettext is not installed: the templates have t() and tn()."""
    Babel(app, locale_selector=locale_name, configure_jinja=False,
          default_locale=LOCALES[DEFAULT],
          default_timezone=app.config.get("HUB_DEFAULT_TZ", DEFAULT_TZ))


@cache
def catalogue(lang: str) -> Catalog:
    """The language's messages as the translator wrote them (read once per process)."""
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang, domain="messages")


@cache
def _translations(lang: str) -> Translations:
    # gettext reads compiled catalogues: compile the .po in memory, once.
    mo = BytesIO()
    write_mo(mo, catalogue(lang))
    mo.seek(0)
    return Translations(fp=mo, domain="messages")


@cache
def _known(lang: str) -> dict[str, bool]:
    """key -> whether it has plural forms, for the keys the language has translated (an
    empty or fuzzy msgstr is not a translation)."""
    known = {}
    for message in catalogue(lang):
        if not message.id or message.fuzzy:
            continue
        forms = message.string if message.pluralizable else (message.string,)
        if forms and all(forms):
            known[message.id[0] if message.pluralizable else message.id] = message.pluralizable
    return known


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[lang])


def current_lang() -> str:
    if has_request_context():
        lang = session.get("lang")
        if lang in LANGS:
            return lang
    return DEFAULT


def locale() -> Locale:
    return _locale(current_lang())


def locale_name() -> str:
    """The session's locale, for Flask-Babel's locale selector."""
    return LOCALES[current_lang()]


def _testing() -> bool:
    return has_app_context() and bool(current_app.config.get("TESTING"))


def _lookup(key: str, n=None) -> str:
    lang = current_lang()
    plural = _known(lang).get(key)
    if plural is None or plural != (n is not None):
        if _testing():
            if plural is None:
                raise KeyError(f"untranslated UI string {key!r} ({lang})")
            raise TypeError(f"UI string {key!r} is {'' if plural else 'not '}a plural: "
                            f"use {'tn' if plural else 't'}()")
        if plural is None:
            # Better the default language than a bare key on an officer's screen.
            lang, plural = DEFAULT, _known(DEFAULT).get(key)
            if plural is None:
                return key
    if plural:
        return _translations(lang).ngettext(key, key, _plural_count(n if n is not None else 2))
    return _translations(lang).gettext(key)


def _plural_count(n) -> int:
    """gettext picks a plural form by a whole number. A fraction (1.5 hours) takes the
    form of many in both of the UI's languages (CLDR: English "one" is 1 without
    decimals; Indonesian has one form)."""
    if isinstance(n, int):
        return n
    return int(n) if float(n).is_integer() else 2


def _fill(text: str, kw: dict) -> str:
    if not kw:
        return text
    return text.format(**{k: number(v) if _is_number(v) else v for k, v in kw.items()})


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def t(key: str, /, **kw) -> str:
    """The UI string `key` in the session's language, with `{placeholders}` filled in
    (numbers written the language's way: 1.234 / 1,234)."""
    return _fill(_lookup(key), kw)


def tn(key: str, n, /, **kw) -> str:
    """The plural form of `key` for the count `n` ("1 minute" / "2 minutes"); `{n}` is
    the count unless given ("{n} of {m} reports" counts m)."""
    kw.setdefault("n", n)
    return _fill(_lookup(key, n), kw)


def has(key: str) -> bool:
    return key in _known(current_lang())


def duration(seconds: float) -> str:
    """A human duration in the current language (for lag and SLA clocks)."""
    seconds = abs(int(seconds))
    if seconds < 60:
        return tn("time.seconds", seconds)
    if seconds < 3600:
        return tn("time.minutes", seconds // 60)
    if seconds < 2 * 86400:
        return tn("time.hours", seconds // 3600)
    return tn("time.days", seconds // 86400)


def ago(seconds: float) -> str:
    """How long ago, for a moment `seconds` in the past ("5 menit lalu"); under a minute
    (or a clock slightly ahead) "baru saja"."""
    if seconds < 60:
        return t("time.just_now")
    return t("connector.ago", n=duration(seconds))


def number(value, fmt: str | None = None) -> str:
    """A number with the language's separators (id: 1.234,5; en: 1,234.5)."""
    if value is None:
        return "–"
    return numbers.format_decimal(value, format=fmt, locale=locale())


def percent(share) -> str:
    """A share (0.5) as a whole percentage in the language's way."""
    if share is None:
        return "–"
    return numbers.format_percent(share, locale=locale())


def local_zone() -> ZoneInfo:
    name = current_app.config.get("HUB_DEFAULT_TZ", DEFAULT_TZ) if has_app_context() \
        else DEFAULT_TZ
    return ZoneInfo(name)


def datetime_text(value) -> str:
    """A moment in the hub's time zone (WIB), as officers read it in their language:
    "3 Des 2026 14.05 WIB" / "Dec 3, 2026, 2:05 PM WIB". The zone is named by its
    Indonesian abbreviation in both languages, as the hub's other texts do."""
    if value is None:
        return "–"
    local = value.astimezone(local_zone())
    loc = locale()
    date = dates.format_date(local, "medium", locale=loc)
    time = dates.format_time(local, "short", tzinfo=local.tzinfo, locale=loc)
    both = dates.get_datetime_format("medium", locale=loc).replace("'", "")
    return f"{both.replace('{0}', time).replace('{1}', date)} {local.strftime('%Z')}"
