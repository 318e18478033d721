"""Spreadsheet connector: the monthly recaps (rekap bulanan) offices keep in Excel or CSV.

Many units never had an app: they keep a recap with the columns
`No, Tanggal, Tracking ID, User, Judul, Stakeholder, Tanggapan, Keterangan` and someone
re-types it into LAPOR!. This connector reads those files instead (see
mappings/kab-bantul/rekap-bulanan.yaml):

  source     `path` (one file) and/or `inbox_dir` (every recap dropped there); run
             by the hub, both are relative to the agency's inbox folder and nothing
             outside it is read (`Inbox`)
  files      read by what they hold, not their name: .xlsx (every worksheet whose
             heading matches, or those named in `sheets`), an HTML table saved as ".xls"
             by a regional app, CSV/TSV in UTF-8, UTF-16 or the Windows code page
  headings   found under a title block, over up to three rows with merged cells
             ("Pelapor" over "Nama" and "Telepon": "Pelapor Nama" or "Nama")
  limits     a recap is untrusted input: file size, uncompressed size of an .xlsx, rows,
             columns and parsing time are bounded (`Limits`); past one the read fails
             with a message saying which, never a worker swollen or stuck
  reports    one per row; `columns` are field specs as in the REST connector, but the
             paths are column headings (matched ignoring case and spacing); the totals
             and signature lines under a table are skipped, not failed; "Anonim" or "-"
             as the reporter is an anonymous report; dates as offices type them
             (`to_datetime`, `date_order`)
  responses  a row's "Tanggapan" (`response_columns`) becomes a response with the id
             `<report id>#tanggapan`
  cursor     per stream, the content hashes of the files already read (an unchanged file
             is skipped, an edited one is read again: upserts make that harmless)

Recaps have no stable ids when the Tracking ID cell is empty, so such rows get one from a
hash of (date, user, title): importing the same rows again, or a later recap repeating
them, never creates duplicates. The hub never writes back into a recap.
"""
import csv
import hashlib
import io
import itertools
import json
import os
import re
import time as clock
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath, PureWindowsPath

from connectors import fieldmap
from connectors.base import DEFAULTS_SCHEMA, ConnectorError, LocalRecord, Page, ReadOnly

DATE_ORDERS = ("DMY", "MDY", "YMD")
CONFIG_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["timezone", "columns"],
    "properties": {
        "path": {"type": "string", "title": "One recap file (.csv or .xlsx), in the "
                 "agency's inbox"},
        "inbox_dir": {"type": "string", "title": "Folder of uploaded recaps in the agency's "
                      "inbox (all are read; '.' is the inbox itself)"},
        "sheets": {"type": "array", "items": {"type": "string"},
                   "title": "Worksheets to read (default: every sheet with the recap's "
                            "headings)"},
        "sheet": {"type": "string", "title": "One worksheet to read (older form of "
                  "`sheets`)"},
        "date_order": {"enum": list(DATE_ORDERS), "default": "DMY",
                       "title": "Numeric dates: day first (DMY, Indonesian usage), month "
                                "first (MDY) or year first (YMD)"},
        "timezone": {"type": "string", "title": "Time zone of the dates in the recap",
                     "default": "Asia/Jakarta"},
        "columns": {"type": "object", "title": "Hub field -> column heading (field specs)"},
        "response_columns": {"type": "object", "title": "Response field -> column heading",
                             "default": {"body": "Tanggapan"}},
        "status_column": {"type": "string", "title": "Column holding the local status"},
        "status_default": {"type": "string", "title": "Local status when none is given"},
        "default_channel": {"type": "string", "title": "Local channel word for every row"},
        "default_category": {"type": "string", "title": "Local category when none is given"},
        "date_formats": {"type": "array", "items": {"type": "string"},
                         "title": "strptime formats tried before the usual forms"},
        "page_size": {"type": "integer", "default": 500},
        "defaults": DEFAULTS_SCHEMA,
    },
    "secrets": [],
}

BLANKS = {"", "-", "–", "—"}          # recaps mark "nothing" with a dash
HEADER_SCAN_ROWS = 30                  # a title block often sits above the heading row
HEADING_DEPTH = 3                      # heading rows at most ("Pelapor" over "Nama")
# What offices save recaps as. A ".xls" from a regional app is mostly an HTML table (or a
# CSV) under that name: the content decides how a file is read, not its name.
READABLE = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".htm", ".html")
MAX_MERGES = 20000                     # merged ranges per sheet; a recap has a few dozen
# A reporter cell saying the reporter chose not to be named: an anonymous report.
ANONYMOUS = {"-", "–", "—", "anonim", "anonym", "anonymous", "dirahasiakan", "rahasia",
             "tanpa nama", "hamba allah"}
# The first words of the lines under a recap's table: its totals and the signature block
# ("Mengetahui, Kepala Dinas ..., NIP. 19700101 ...").
FOOTER_WORDS = re.compile(
    r"^(?:jumlah|total|sub\s*total|grand\s*total|mengetahui|menyetujui|disetujui|"
    r"diketahui|dibuat|diperiksa|kepala|kabid|kasubag|kasi|sekretaris|plt|plh|"
    r"a\.?\s?n\.?|nip|nrp|ttd|tertanda|pembina|penata|camat|lurah|bupati|walikota)\b",
    re.IGNORECASE)
HIDDEN = "[hidden]"                    # reporter cells never reach sync_record_errors


def _over(message: str) -> ConnectorError:
    return ConnectorError(message, retryable=False)


@dataclass(frozen=True)
class Limits:
    """How much one recap may cost to read. A monthly recap is a few thousand rows of
    eight columns; these leave ample room and stop what is not a recap."""
    max_bytes: int = 20 * 1024 * 1024          # the file as uploaded
    max_uncompressed_bytes: int = 64 * 1024 * 1024  # an .xlsx's content, unzipped
    max_rows: int = 100_000
    max_columns: int = 200
    max_seconds: float = 60.0                  # parsing time per file

    SETTINGS = {"max_bytes": "HUB_SPREADSHEET_MAX_BYTES",
                "max_uncompressed_bytes": "HUB_SPREADSHEET_MAX_UNCOMPRESSED_BYTES",
                "max_rows": "HUB_SPREADSHEET_MAX_ROWS",
                "max_columns": "HUB_SPREADSHEET_MAX_COLUMNS",
                "max_seconds": "HUB_SPREADSHEET_MAX_SECONDS"}

    @classmethod
    def from_settings(cls, get) -> "Limits":
        """`get(name)` gives a setting or None (the hub passes its config lookup)."""
        values = {}
        for attr, name in cls.SETTINGS.items():
            raw = get(name)
            if raw not in (None, ""):
                values[attr] = type(getattr(cls, attr))(raw)
        return cls(**values)


class Inbox:
    """The one folder a recap may come from (`<HUB_INBOX_ROOT>/<agency code>`): paths in
    the config are relative to it, and a file whose real location is outside it (an
    absolute path, "..", a symbolic link leading out) is refused."""

    def __init__(self, root):
        self.root = Path(root)

    def relative(self, value) -> Path:
        text = str(value or "").strip()
        posix = PurePosixPath(text.replace("\\", "/"))
        if not text or posix.is_absolute() or PureWindowsPath(text).drive or \
                ".." in posix.parts or "\0" in text:
            raise ValueError(f"'{text}' must be a path inside the agency's inbox (relative, "
                             "without '..')")
        return Path(*posix.parts) if posix.parts else Path(".")

    def locate(self, value) -> Path:
        return self.inside(self.root / self.relative(value), str(value))

    def inside(self, path: Path, shown: str) -> Path:
        real, root = path.resolve(), self.root.resolve()
        if real != root and root not in real.parents:
            raise _over(f"'{shown}' leads outside the agency's inbox; only files in the "
                        "inbox are read")
        return real

    def read(self, path: Path, limits: "Limits") -> bytes:
        """The file's bytes, refusing a symbolic link swapped in since it was checked."""
        if path.stat().st_size > limits.max_bytes:
            raise _over(f"{path.name} is larger than {limits.max_bytes // 1048576} MB; "
                        "split the recap into smaller files")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            return fh.read(limits.max_bytes + 1)


EXCEL_MAX_COLUMNS = 16384   # Excel's own limit: a row with more cells is not a sheet
SCAN_CHUNK = 64 * 1024


def _zip_within(data: bytes, name: str, limits: Limits, budget: "_Budget") -> dict:
    """Refuse an .xlsx that would cost more than a recap before openpyxl builds anything
    from it: content unzipping beyond the limit, a worksheet with too many rows or a row
    with more cells than Excel allows, more shared strings than such rows could use.

    The sizes are those the archive declares; zipfile stops reading a member at its
    declared size (a lie there ends in a CRC error), so they bound the real work. The
    XML is scanned with expat, which keeps nothing, so the scan itself stays small.

    Returns each worksheet's merged ranges ({member: ["B1:C1", ...]}): openpyxl's
    streaming reader does not give them, and merged headings need them."""
    import xml.parsers.expat
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return {}  # not a zip: openpyxl says so in its own words
    merges: dict[str, list[str]] = {}
    with archive:
        members = archive.infolist()
        if sum(info.file_size for info in members) > limits.max_uncompressed_bytes:
            raise _over(f"{name} unpacks to more than "
                        f"{limits.max_uncompressed_bytes // 1048576} MB, far more than a "
                        "recap; it was not read (save the recap again from Excel, or "
                        "split it)")
        for info in members:
            member = info.filename
            if not (member.startswith("xl/worksheets/") or
                    member == "xl/sharedStrings.xml") or not member.endswith(".xml"):
                continue
            counts = {"row": 0, "c": 0, "si": 0, "seen": 0}
            ranges = merges.setdefault(member, [])

            def start(tag, attrs, counts=counts, ranges=ranges):
                local = tag.rpartition(":")[2]
                counts["seen"] += 1
                if local == "row":
                    counts["row"] += 1
                    counts["c"] = 0
                    if counts["row"] > limits.max_rows:
                        raise _over(f"{name} has more than {limits.max_rows} rows; split "
                                    "the recap into smaller files")
                elif local == "c":
                    counts["c"] += 1
                    if counts["c"] > EXCEL_MAX_COLUMNS:
                        raise _over(f"{name} has a row of more than {EXCEL_MAX_COLUMNS} "
                                    "cells, which no Excel sheet has; it was not read")
                elif local == "mergeCell" and attrs.get("ref"):
                    ranges.append(attrs["ref"])
                    if len(ranges) > MAX_MERGES:
                        raise _over(f"{name} has more than {MAX_MERGES} merged cells in "
                                    "one sheet, far more than a recap; it was not read")
                elif local == "si":
                    counts["si"] += 1
                    if counts["si"] > limits.max_rows * limits.max_columns:
                        raise _over(f"{name} holds more texts than a recap of "
                                    f"{limits.max_rows} rows could; it was not read")

            parser = xml.parsers.expat.ParserCreate()
            parser.StartElementHandler = start
            try:
                with archive.open(info) as stream:
                    while True:
                        started = clock.perf_counter()
                        chunk = stream.read(SCAN_CHUNK)
                        parser.Parse(chunk, not chunk)
                        budget.tick(started)
                        if not chunk:
                            break
            except (zipfile.BadZipFile, xml.parsers.expat.ExpatError, EOFError,
                    zlib.error):
                raise _over(f"{name} is damaged (its content does not match its own "
                            "index); save it again from Excel") from None
    return merges


class _Budget:
    """Rows of one file, counted and timed: the time spent producing them (opening and
    parsing the file, not the engine's work between pages) must stay within the limit.
    The unzipped-size limit bounds how long any single step can take."""

    def __init__(self, name: str, limits: Limits, spent: float = 0.0):
        self.rows, self.name, self.limits = iter(()), name, limits
        self.spent, self.count, self.index, self.sheet = spent, 0, 0, None

    def start(self, rows, sheet: str | None = None) -> "_Budget":
        """Go on with the rows of the next sheet (counted with the file's, numbered as the
        sheet numbers them)."""
        self.rows, self.index, self.sheet = iter(rows), 0, sheet
        return self

    @property
    def where(self) -> str:
        return self.name + (f" sheet '{self.sheet}'" if self.sheet else "")

    def __iter__(self):
        return self

    def tick(self, started: float) -> None:
        self.spent += clock.perf_counter() - started
        if self.spent > self.limits.max_seconds:
            raise _over(f"{self.name}: reading it took longer than "
                        f"{self.limits.max_seconds:g} s; it was stopped (split the recap "
                        "into smaller files)")

    def __next__(self) -> list:
        started = clock.perf_counter()
        try:
            row = next(self.rows)
        except (StopIteration, ConnectorError):
            raise
        except Exception as exc:  # a damaged archive or sheet XML, found mid-file
            raise _over(f"{self.name}: cannot read it to the end "
                        f"({exc.__class__.__name__}); save it again from Excel") from None
        self.tick(started)
        self.count += 1
        self.index += 1
        if self.count > self.limits.max_rows:
            raise _over(f"{self.name} has more than {self.limits.max_rows} rows; split "
                        "the recap into smaller files")
        row = list(row)
        while row and row[-1] in (None, ""):
            row.pop()  # trailing empty cells are formatting, not columns
        if len(row) > self.limits.max_columns:
            raise _over(f"{self.where} row {self.index} has more than "
                        f"{self.limits.max_columns} columns; is it a recap?")
        return row


def _norm(name) -> str:
    return " ".join(str(name or "").split()).casefold()


def _spec(spec) -> dict:
    return {"path": spec} if isinstance(spec, str) else dict(spec)


def _cell(value):
    """Excel gives 1234567.0 for a typed tracking id and "  " for empty cells."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        value = value.strip()
        return None if value in BLANKS else value
    return value


# Month names as offices type them: Indonesian first, English (a recap made on an English
# Excel), old spellings ("Pebruari", "Nopember") and the usual abbreviations.
MONTH_NAMES = {"januari": 1, "january": 1, "februari": 2, "pebruari": 2, "february": 2,
               "maret": 3, "march": 3, "april": 4, "mei": 5, "may": 5, "juni": 6,
               "june": 6, "juli": 7, "july": 7, "agustus": 8, "august": 8,
               "september": 9, "oktober": 10, "october": 10, "november": 11,
               "nopember": 11, "desember": 12, "december": 12}
MONTHS = {"jan": 1, "feb": 2, "peb": 2, "mar": 3, "apr": 4, "mei": 5, "may": 5, "jun": 6,
          "jul": 7, "agu": 8, "ags": 8, "agt": 8, "agst": 8, "aug": 8, "sep": 9,
          "sept": 9, "okt": 10, "oct": 10, "nov": 11, "nop": 11, "des": 12, "dec": 12}
_TIME = r"(?:[\sT,]+(?:jam|pukul)?\s*(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*(?:wib|wita|wit)?)?"
_WEEKDAY = re.compile(r"^(?:senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|ahad|monday|"
                      r"tuesday|wednesday|thursday|friday|saturday|sunday)\s*,?\s*", re.I)
_NUMERIC = re.compile(rf"^(\d{{1,4}})\s*([/\-.])\s*(\d{{1,2}})\s*\2\s*(\d{{1,4}}){_TIME}$", re.I)
_NAMED = re.compile(rf"^(\d{{1,2}})[\s\-./]*([A-Za-z]+)\.?[\s\-./,]*(\d{{4}}|\d{{2}}){_TIME}$",
                    re.I)
_NAMED_MONTH_FIRST = re.compile(rf"^([A-Za-z]+)\.?\s+(\d{{1,2}}),?\s+(\d{{4}}){_TIME}$", re.I)
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")


def month_of(word: str) -> int | None:
    """"Des", "Des.", "Desember", "Agt", "Sept" -> 12, 12, 12, 8, 9; None if no month."""
    word = word.casefold().rstrip(".")
    if word in MONTHS:
        return MONTHS[word]
    if word in MONTH_NAMES:
        return MONTH_NAMES[word]
    if len(word) >= 3:  # "Agust", "Okto": a typed name cut short
        for name, number in MONTH_NAMES.items():
            if name.startswith(word):
                return number
    return None


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year  # "16-Jan-24": recaps are of this century


def _at(year, month, day, hour, minute, second) -> datetime:
    return datetime(year, month, day, int(hour or 0), int(minute or 0), int(second or 0))


def to_datetime(value, formats=(), order: str = "DMY"):
    """A date cell -> datetime (naive = the recap's time zone). ValueError if unreadable.

    Read as offices write them: Excel date cells and serial day numbers, ISO 8601,
    numeric dates day first (Indonesian usage; `order` "MDY" for a recap written month
    first), a year first ("2024/01/12"), and month names or abbreviations in Indonesian or
    English ("16-Jan-2024", "12 Des. 2024", "Senin, 4 Maret 2024 09.15")."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str) and _SERIAL.match(value.strip()):
        value = float(value)  # a serial day that reached a CSV as text
    if isinstance(value, (int, float)) and not isinstance(value, bool) and \
            20000 < value < 80000:  # an Excel serial day (1954..2119)
        from openpyxl.utils.datetime import from_excel
        return from_excel(value)
    text = " ".join(str(value).split())
    for fmt in formats:  # the connector's own formats come first
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    bare = _WEEKDAY.sub("", text)
    try:
        match = _NUMERIC.match(bare)
        if match:
            first, _, middle, last, *clock_parts = match.groups()
            if len(first) == 4 or order == "YMD":
                return _at(_year(first), int(middle), int(last), *clock_parts)
            if len(first) <= 2 and len(last) in (2, 4):
                day, month = (middle, first) if order == "MDY" else (first, middle)
                return _at(_year(last), int(month), int(day), *clock_parts)
        match = _NAMED.match(bare)
        if match and month_of(match.group(2)):
            day, word, year, *clock_parts = match.groups()
            return _at(_year(year), month_of(word), int(day), *clock_parts)
        match = _NAMED_MONTH_FIRST.match(bare)
        if match and month_of(match.group(1)):
            word, day, year, *clock_parts = match.groups()
            return _at(_year(year), month_of(word), int(day), *clock_parts)
    except ValueError:
        pass  # a day or month out of range ("31/02/2024"): said below
    first = {"MDY": "MM/DD/YYYY", "YMD": "YYYY/MM/DD"}.get(order, "DD/MM/YYYY")
    raise ValueError(f"'{text}' is not a date (write it as {first}, YYYY-MM-DD or "
                     "12 Des 2024; `date_order` says whether numbers are day or month "
                     "first)")


# --- what a file holds ------------------------------------------------------------------

@dataclass
class Sheet:
    """One table of a file: a worksheet, an HTML table, the whole of a CSV. `spans` are
    its merged cells as (first row, first column, last row, last column), from 0."""
    name: str | None
    rows: object
    spans: list = field(default_factory=list)
    hidden: bool = False
    worksheet: bool = False  # `sheets` names worksheets; a CSV or HTML table has none


def _spans(refs, limits: Limits) -> list:
    from openpyxl.utils.cell import range_boundaries
    spans = []
    for ref in refs:
        try:
            c1, r1, c2, r2 = range_boundaries(ref)
        except (ValueError, TypeError):
            continue  # a malformed range merges nothing
        if None in (c1, r1, c2, r2) or c1 > limits.max_columns:
            continue
        spans.append((r1 - 1, c1 - 1, r2 - 1, min(c2, limits.max_columns) - 1))
    return spans


def _fill_down(rows, spans):
    """A cell merged down over several rows (one date for a day's complaints, one
    Keterangan for a group) holds for each of them; a merge across columns stays in its
    first cell (a section heading such as "JANUARI" across the table is no data)."""
    starts = sorted((s for s in spans if s[2] > s[0]), key=lambda s: s[0])
    at, active = 0, []
    for index, row in enumerate(rows):
        while at < len(starts) and starts[at][0] <= index:
            r1, c1, r2, _ = starts[at]
            at += 1
            if r1 == index and len(active) < 16384:  # valid merges never overlap
                active.append((r2, c1, row[c1] if c1 < len(row) else None))
        if active:
            active = [a for a in active if a[0] >= index]
            for _, column, value in active:
                if value in (None, ""):
                    continue
                if column >= len(row):
                    row.extend([None] * (column + 1 - len(row)))
                if row[column] in (None, ""):
                    row[column] = value
        yield row


class _Tables(HTMLParser):
    """The tables of an HTML page (what many regional apps save as ".xls"), as rows of
    cell texts with their colspan/rowspan as merged cells. Bounded as a workbook is."""

    def __init__(self, limits: Limits, name: str):
        super().__init__(convert_charrefs=True)
        self.limits, self.name = limits, name
        self.tables: list[Sheet] = []
        self.stack: list[dict] = []
        self.rows = 0

    def _top(self):
        return self.stack[-1] if self.stack else None

    def _end_cell(self, table):
        cell = table.get("cell")
        if cell is None:
            return
        table["cell"] = None
        row, index = table["row"], len(table["rows"])
        busy, column = table["busy"], cell["column"]
        text = " ".join("".join(cell["text"]).split()) or None
        while len(row) < column:
            row.append(None)
        row.append(text)
        row.extend([None] * (cell["colspan"] - 1))
        for k in range(cell["colspan"]):
            busy[column + k] = index + cell["rowspan"] - 1
        if cell["colspan"] > 1 or cell["rowspan"] > 1:
            table["spans"].append((index, column, index + cell["rowspan"] - 1,
                                   column + cell["colspan"] - 1))

    def _end_row(self, table):
        self._end_cell(table)
        if table.get("row") is not None:
            table["rows"].append(table["row"])
            table["row"] = None

    def handle_starttag(self, tag, attrs):
        table = self._top()
        if tag == "table":
            self.stack.append({"rows": [], "row": None, "cell": None, "spans": [],
                               "busy": {}})
        elif table is None:
            return
        elif tag == "tr":
            self._end_row(table)
            table["row"] = []
            self.rows += 1
            if self.rows > self.limits.max_rows:
                raise _over(f"{self.name} has more than {self.limits.max_rows} rows; "
                            "split the recap into smaller files")
        elif tag in ("td", "th"):
            self._end_cell(table)
            if table["row"] is None:
                table["row"] = []
            attrs = dict(attrs)

            def span(key, cap):
                try:
                    return max(1, min(int(str(attrs.get(key) or 1).strip()), cap))
                except ValueError:
                    return 1
            index, column = len(table["rows"]), len(table["row"])
            while table["busy"].get(column, -1) >= index:
                column += 1  # a cell from the row above reaches down here
            colspan = span("colspan", self.limits.max_columns + 1)
            if column + colspan > self.limits.max_columns:
                raise _over(f"{self.name} row {index + 1} has more than "
                            f"{self.limits.max_columns} columns; is it a recap?")
            table["cell"] = {"text": [], "column": column, "colspan": colspan,
                             "rowspan": span("rowspan", self.limits.max_rows)}
        elif tag in ("br", "p", "div") and table.get("cell") is not None:
            table["cell"]["text"].append(" ")

    def handle_endtag(self, tag):
        table = self._top()
        if table is None:
            return
        if tag in ("td", "th"):
            self._end_cell(table)
        elif tag == "tr":
            self._end_row(table)
        elif tag == "table":
            self._end_row(table)
            self.stack.pop()
            self.tables.append(Sheet(None, table["rows"], table["spans"]))

    def handle_data(self, data):
        table = self._top()
        if table is not None and table.get("cell") is not None:
            table["cell"]["text"].append(data)

    def close(self):
        super().close()
        while self.stack:  # a table the page never closed still counts
            self.handle_endtag("table")


def decode_text(data: bytes) -> str:
    """A text recap's characters: UTF-8 (with or without Excel's BOM), UTF-16/32 ("Unicode
    Text" from Excel), else the Windows code page Excel uses in Indonesia (cp1252), else
    what charset-normalizer recognises. Binary content is refused, never guessed at."""
    import codecs
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return _text_only(data.decode(encoding))
            except UnicodeDecodeError:
                raise ValueError(f"it says it is {encoding.upper()} text but is not; save "
                                 "it again as CSV UTF-8 or .xlsx") from None
    try:
        return _text_only(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes
    guess = from_bytes(data[:1024 * 1024]).best()
    if guess is None:
        raise ValueError(NOT_TEXT)
    if b"\0" not in data:
        try:  # the guess between single-byte code pages is weak on a short recap
            return _text_only(data.decode("cp1252"))
        except UnicodeDecodeError:
            pass
    try:
        return _text_only(data.decode(guess.encoding))
    except (UnicodeDecodeError, LookupError):
        raise ValueError("its characters cannot be read (neither UTF-8 nor a known "
                         "encoding); save it again as CSV UTF-8 or .xlsx") from None


NOT_TEXT = ("it is not text (binary content, perhaps another kind of file under this "
            "name); save the recap as .xlsx or CSV")


def _text_only(text: str) -> str:
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > max(2, len(text[:65536]) // 100):
        raise ValueError(NOT_TEXT)
    return text


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _heading_like(row) -> bool:
    """A row of sub-headings ("Nama", "Telepon"), not of data: words only."""
    cells = [c for c in row if not _blank(c)]
    return bool(cells) and all(isinstance(c, str) and not any(ch.isdigit() for ch in c)
                               for c in cells)


class _Heading:
    """The names of each column under a heading of one or more rows: a column under
    "Pelapor" (merged over two columns) and "Nama" answers to "Pelapor Nama" and "Nama",
    and, when only the group is asked for, "Pelapor" names the group's first column."""

    def __init__(self, rows: list, spans: list, top: int, max_columns: int):
        width = min(max((len(r) for r in rows), default=0), max_columns)
        grid = [[(r[c] if c < len(r) else None) for c in range(width)] for r in rows]
        bottom = top + len(rows) - 1
        for r1, c1, r2, c2 in spans:  # a merged heading names every column it covers
            for r in range(max(r1, top), min(r2, bottom) + 1):
                if c1 < width:
                    anchor = grid[r - top][c1]
                    for c in range(c1 + 1, min(c2, width - 1) + 1):
                        if _blank(grid[r - top][c]):
                            grid[r - top][c] = anchor
        # A group heading typed without merging (every CSV): an empty cell over named
        # cells belongs to the heading on its left.
        for i in range(len(grid) - 1):
            group = None
            for c in range(width):
                below = any(not _blank(grid[j][c]) for j in range(i + 1, len(grid)))
                if not _blank(grid[i][c]):
                    group = grid[i][c] if below else None
                elif group is not None and below:
                    grid[i][c] = group
                else:
                    group = None
        self.levels = []
        for c in range(width):
            levels = []
            for row in grid:
                name = _norm(row[c])
                if name and (not levels or levels[-1] != name):
                    levels.append(name)
            self.levels.append(levels)

    def find(self, wanted: str, groups: bool = True) -> int | None:
        """The column named `wanted` (normalized); ValueError if two differ by it."""
        hits = [c for c, lv in enumerate(self.levels)
                if any(" ".join(lv[k:]) == wanted for k in range(len(lv)))]
        if len({" ".join(self.levels[c]) for c in hits}) > 1:
            names = " / ".join(sorted({" ".join(self.levels[c]) for c in hits}))
            raise ValueError(f"more than one column is headed '{wanted}' ({names}); "
                             "write the heading with its group, e.g. 'Pelapor Nama'")
        if hits:
            return hits[0]  # a merged or repeated heading: its first column holds the value
        if not groups:
            return None
        for c, lv in enumerate(self.levels):  # a group heading over several columns
            prefixes = {" ".join(lv[:k]) for k in range(1, len(lv))}
            if wanted in prefixes and any(wanted in {" ".join(o[:k]) for k in
                                                     range(1, len(o))}
                                          for o in self.levels[c + 1:c + 2]):
                return c
        return None


class SpreadsheetConnector(ReadOnly):
    kind = "spreadsheet"
    writable = False  # a recap is a report *to* the hub; nothing is ever written back

    def __init__(self, config: dict, secrets: dict | None = None, *,
                 inbox: Inbox | None = None, limits: Limits | None = None):
        self.config = config
        self.inbox, self.limits = inbox, limits or Limits()
        if not config.get("path") and not config.get("inbox_dir"):
            raise ConnectorError("the spreadsheet connector needs `path` or `inbox_dir`",
                                 retryable=False)
        self.tz = config["timezone"]
        self.columns = {k: _spec(v) for k, v in config["columns"].items()}
        if "title" not in self.columns:
            raise ConnectorError("`columns` must name the title column (e.g. title: Judul)",
                                 retryable=False)
        if config.get("status_column"):
            self.columns["status"] = {"path": config["status_column"]}
        responses = config.get("response_columns", {"body": "Tanggapan"}) or {}
        self.response_columns = {k: _spec(v) for k, v in responses.items()}
        self.streams = ("reports", "responses") if "body" in self.response_columns \
            else ("reports",)
        self.formats = tuple(config.get("date_formats") or ())
        self.order = str(config.get("date_order") or "DMY").upper()
        if self.order not in DATE_ORDERS:
            raise ConnectorError(f"`date_order` is {config.get('date_order')!r}; write "
                                 f"one of {', '.join(DATE_ORDERS)}", retryable=False)
        sheets = config.get("sheets") or ([config["sheet"]] if config.get("sheet") else [])
        if isinstance(sheets, str):
            sheets = [sheets]
        self.sheets = [str(s) for s in sheets]
        self.page_size = int(config.get("page_size", 500))
        # Changing the column config must re-read every file, or files read with the old
        # (perhaps wrong) headings would stay skipped forever.
        self.config_hash = hashlib.sha256(json.dumps(
            [config.get("columns"), responses, config.get("status_column"),
             config.get("status_default"), config.get("default_channel"),
             config.get("default_category"), self.sheets, self.tz, self.order,
             list(self.formats)],
            sort_keys=True, default=str).encode()).hexdigest()[:16]

    # --- files --------------------------------------------------------------------------

    def _files(self) -> list[Path]:
        found = []
        if self.config.get("path"):
            path = self._place(self.config["path"])
            if not path.is_file():
                raise ConnectorError(f"recap file {self.config['path']} not found"
                                     + (" in the agency's inbox" if self.inbox else
                                        " (is the share mounted?)"))
            found.append(path)
        if self.config.get("inbox_dir"):
            inbox = self._place(self.config["inbox_dir"])
            if not inbox.is_dir():
                raise ConnectorError(f"inbox folder {self.config['inbox_dir']} not found")
            # "~$x.xlsx" is Excel's lock file; dot files are editors' and uploads' temp files.
            for p in inbox.iterdir():
                if p.name.startswith(("~$", ".")):
                    continue
                if self.inbox is not None:
                    p = self.inbox.inside(p, p.name)  # a link leading out is refused
                if p.is_file():
                    found.append(p)
        # Oldest first: a later recap's copy of a row is newer and must be applied last.
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def _place(self, value) -> Path:
        if self.inbox is None:  # used outside the hub: the path is the caller's business
            return Path(value)
        try:
            return self.inbox.locate(value)
        except ValueError as exc:
            raise _over(str(exc)) from None

    def _read_file(self, path: Path) -> bytes:
        if self.inbox is not None:
            return self.inbox.read(self.inbox.inside(path, path.name), self.limits)
        if path.stat().st_size > self.limits.max_bytes:
            raise _over(f"{path.name} is larger than "
                        f"{self.limits.max_bytes // 1048576} MB; split the recap")
        return path.read_bytes()

    def _tables(self, path: Path, data: bytes, budget: "_Budget", closers: list) -> list:
        """The file's tables (`Sheet`s), whatever its name says: an .xlsx is a zip, an
        HTML page starts with "<", the rest is delimited text."""
        started = clock.perf_counter()
        if data.startswith(b"PK\x03\x04"):
            return self._workbook(path, data, budget, closers)
        if data.startswith(b"\xd0\xcf\x11\xe0"):
            raise ValueError("it is an old Excel 97-2003 workbook (.xls), which the hub "
                             "cannot read; open it in Excel and save it as .xlsx (Excel "
                             "Workbook)")
        text = decode_text(data)
        budget.tick(started)
        if text.lstrip()[:1] == "<":
            return self._html(path, text, budget)
        # Indonesian Excel saves CSV with ";" (the comma is the decimal separator). The
        # delimiter is the one that yields the title heading as a cell of its own (the
        # csv.Sniffer guesses wrong on short files full of dates and commas in titles).
        title = _norm(self.columns["title"]["path"])
        csv.field_size_limit(1024 * 1024)
        delimiter = ","
        for d in ",;\t|":
            head = [row for _, row in zip(range(HEADER_SCAN_ROWS),
                                          csv.reader(io.StringIO(text), delimiter=d),
                                          strict=False)]
            if any(title in {_norm(c) for c in row} for row in head):
                delimiter = d
                break
        budget.tick(started)
        return [Sheet(None, csv.reader(io.StringIO(text), delimiter=delimiter))]

    def _workbook(self, path: Path, data: bytes, budget: "_Budget", closers: list) -> list:
        import openpyxl
        started = clock.perf_counter()
        merges = _zip_within(data, path.name, self.limits, budget)
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True,
                                          data_only=True)  # formulas: their values
        except Exception as exc:
            raise ValueError("cannot open it as an Excel file "
                             f"({exc.__class__.__name__})") from None
        closers.append(book.close)
        budget.tick(started)
        sheets = []
        for sheet in book.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue  # a chart sheet holds no cells
            # The declared dimension is the file's claim, not its content: without it,
            # rows are not padded to a width (or a height) the file only pretends to have.
            sheet.reset_dimensions()
            member = str(getattr(sheet, "_worksheet_path", "") or "").lstrip("/")
            sheets.append(Sheet(sheet.title, sheet.iter_rows(values_only=True),
                                _spans(merges.get(member, ()), self.limits),
                                hidden=sheet.sheet_state != "visible", worksheet=True))
        return sheets

    def _html(self, path: Path, text: str, budget: "_Budget") -> list:
        parser = _Tables(self.limits, path.name)
        for at in range(0, len(text), SCAN_CHUNK):
            started = clock.perf_counter()
            parser.feed(text[at:at + SCAN_CHUNK])
            budget.tick(started)
        parser.close()
        tables = [t for t in parser.tables if t.rows]
        if not tables:
            raise ValueError("it is a web page without a table; save the recap as .xlsx")
        if len(tables) > 1:
            for number, table in enumerate(tables, 1):
                table.name = f"table {number}"
        return tables

    def _header(self, rows: list[list], specs: dict, spans: list) -> tuple[int, dict]:
        """(index of the first data row, {column heading: position}). The heading is the
        first row, or block of up to HEADING_DEPTH rows (merged group headings), holding
        the title column; every configured column must be in it (a renamed column must
        fail loudly, not import empty values), unless marked optional."""
        title = _norm(self.columns["title"]["path"])
        wanted = {_norm(s["path"]): s for s in specs.values() if "path" in s}
        first_error = ambiguous = None

        def block(bottom):
            top = bottom
            while top > 0 and bottom - top < HEADING_DEPTH - 1 and \
                    any(not _blank(c) for c in rows[top - 1]):
                top -= 1
            return top, _Heading(rows[top:bottom + 1], spans, top, self.limits.max_columns)

        def matched(bottom):
            top, heading = block(bottom)
            if heading.find(title, groups=False) is None:
                return None
            positions, missing = {}, []
            for name, spec in wanted.items():
                column = heading.find(name)
                if column is not None:
                    positions[name] = column
                elif not spec.get("optional"):
                    missing.append(spec["path"])
            if missing:
                rows_said = f"heading row (row {bottom + 1}) has" if top == bottom else \
                    f"heading rows (rows {top + 1}-{bottom + 1}) have"
                return ValueError(f"the {rows_said} no column "
                                  f"{', '.join(repr(m) for m in missing)}")
            return positions

        for bottom in range(min(len(rows), HEADER_SCAN_ROWS)):
            if all(_blank(c) for c in rows[bottom]):
                continue
            try:
                found = matched(bottom)
            except ValueError as exc:  # an ambiguous heading says more than a missing one
                ambiguous = ambiguous or exc
                continue
            if isinstance(found, ValueError):
                first_error = first_error or found
                continue
            if found is None:
                continue
            # Sub-headings on the next row ("Nama", "Telepon" under "Pelapor"): the
            # heading goes on to it when it still names every column.
            if bottom + 1 < len(rows) and _heading_like(rows[bottom + 1]):
                try:
                    deeper = matched(bottom + 1)
                except ValueError:
                    deeper = None
                if isinstance(deeper, dict):
                    return bottom + 2, deeper
            return bottom + 1, found
        if ambiguous is not None or first_error is not None:
            raise ambiguous or first_error
        raise _NoHeading(f"no heading row with the column '{self.columns['title']['path']}' "
                         f"in the first {HEADER_SCAN_ROWS} rows")

    # --- rows ---------------------------------------------------------------------------

    def _parse(self, cells: dict, specs: dict, where: str) -> dict:
        """Cells {normalized heading: value} -> hub fields per the specs (paths become the
        headings' keys, so a heading like "No." does not read as a dotted path)."""
        row, keyed = {}, {}
        for name, spec in specs.items():
            spec = dict(spec)
            if "path" in spec:
                key = "c" + hashlib.md5(_norm(spec["path"]).encode()).hexdigest()[:8]
                value = cells.get(_norm(spec["path"]))
                if value is not None and spec.get("type") == "datetime":
                    try:
                        value = to_datetime(value, self.formats, self.order)
                    except ValueError as exc:
                        raise ValueError(f"{where}: column '{spec['path']}': {exc}") from None
                row[key], spec["path"] = value, key
            keyed[name] = spec
        try:
            return fieldmap.extract(row, keyed, self.tz)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def _report(self, cells: dict, where: str, modified: datetime,
                anonymous: bool = False) -> LocalRecord:
        flat = self._parse(cells, self.columns, where)
        title = flat.get("title")
        if not title:
            raise ValueError(f"{where}: no title (column "
                             f"'{self.columns['title']['path']}' is empty)")
        external_id = flat.pop("external_id", None)
        if external_id in (None, ""):
            # No tracking id: a stable one from what identifies the complaint (the
            # reporter cell as written, "Anonim" included, so ids never change).
            when = flat.get("submitted_at")
            key = "|".join([when.isoformat() if when else "",
                            _norm(flat.get("reporter.name")), _norm(title)])
            external_id = "rekap-" + hashlib.sha256(key.encode()).hexdigest()[:16]
        if anonymous:  # "Anonim", "-": the reporter chose not to be named
            flat.pop("reporter.name", None)
            flat["privacy.anonymous"] = True
        updated_at = flat.pop("updated_at", None) or modified
        cfg = self.config
        # Defaults are local words like any cell, so they go through the mappings too.
        for name, default in (("channel", cfg.get("default_channel")),
                              ("category", cfg.get("default_category")),
                              ("status", cfg.get("status_default"))):
            if flat.get(name) in (None, "") and default:
                flat[name] = default
        flat.setdefault("body", None)
        flat["body"] = flat["body"] or title  # recaps rarely have a body; LAPOR! needs one
        fields: dict = {}
        for path, value in flat.items():
            if value is not None:
                fieldmap.set_path(fields, path, value)
        return LocalRecord("reports", str(external_id), updated_at, fields)

    def _raw(self, cells: dict, where: str) -> dict:
        """The row for an officer's eyes, without the reporter's identity."""
        private = {_norm(s["path"]) for n, s in self.columns.items()
                   if n.startswith("reporter.") and "path" in s}
        return {"where": where, **{k: (HIDDEN if k in private else fieldmap_json(v))
                                   for k, v in cells.items()}}

    def _column(self, name: str) -> str | None:
        spec = self.columns.get(name) or {}
        return _norm(spec["path"]) if "path" in spec else None

    def _dated(self, cells: dict) -> bool:
        value = cells.get(self._column("submitted_at"))
        if value is None:
            return False
        try:
            to_datetime(value, self.formats, self.order)
            return True
        except ValueError:
            return False

    def _not_a_record(self, row: list, cells: dict, positions: dict, footer: bool) -> bool:
        """A line under the table: totals ("Jumlah", "Total"), the signature block
        ("Mengetahui", "Kepala Dinas", "NIP. ...", the signer's name), or the heading
        repeated. Such lines carry no date and hardly any cells; a row with an id is a
        record unless it starts with one of those words."""
        filled = [v for v in cells.values() if v is not None]
        if filled and all(isinstance(v, str) and _norm(v) == k
                          for k, v in cells.items() if v is not None):
            return True  # the heading again (a table pasted twice)
        dated = self._dated(cells)
        first = next((c for c in row if not _blank(c)), None)
        if isinstance(first, str) and FOOTER_WORDS.match(first.strip()) and not dated:
            return True
        if cells.get(self._column("external_id")) is not None:
            return False
        sparse = len(filled) * 2 < len(positions)
        if footer:  # under the totals or a signature line: only a dated row is data
            return sparse and not dated
        return sparse and not dated and (cells.get(self._column("title")) is None or
                                         len(filled) <= 1)

    def _records(self, stream, path: Path, data: bytes, modified: datetime, notes: dict):
        """Yield (record | None, rejection | None) for each row of one file; `notes`
        gathers what was skipped: rows that are no records, sheets not read."""
        specs = self.columns if stream == "reports" else {**self.columns,
                                                           **{"response." + k: v for k, v in
                                                              self.response_columns.items()}}
        first = stream == "reports"  # a file's problems are said once, not per stream
        budget, closers = _Budget(path.name, self.limits), []
        try:
            if path.suffix.lower() not in READABLE:
                raise ValueError("only spreadsheets are read (.xlsx, .csv, or the .xls an "
                                 "app exports); save it as .xlsx")
            sheets = self._tables(path, data, budget, closers)
            wanted = {_norm(s): s for s in self.sheets}
            if wanted and sheets and sheets[0].worksheet and \
                    not wanted.keys() & {_norm(s.name) for s in sheets if s.name}:
                raise ValueError(f"it has no worksheet {', '.join(map(repr, self.sheets))}"
                                 f" (it has {', '.join(s.name for s in sheets)})")
            read_any, problems = False, []
            for sheet in sheets:
                named = bool(wanted) and sheet.worksheet
                if named and _norm(sheet.name) not in wanted:
                    notes["sheets"][sheet.name] = "not listed in `sheets`"
                    continue
                label = sheet.name if len(sheets) > 1 else None
                rows = _fill_down(budget.start(sheet.rows, label), sheet.spans)
                head = [row for _, row in zip(range(HEADER_SCAN_ROWS), rows, strict=False)]
                try:
                    start, positions = self._header(head, specs, sheet.spans)
                except _NoHeading as exc:
                    if named or len(sheets) == 1:
                        problems.append(f"sheet '{sheet.name}': {exc}" if label else str(exc))
                    elif not any(sum(not _blank(c) for c in r) >= 3 for r in head):
                        notes["sheets"][sheet.name] = "no table in it"
                    elif sheet.hidden:
                        notes["sheets"][sheet.name] = "hidden, and no recap heading"
                    else:
                        notes["sheets"][sheet.name] = str(exc)
                        if first:  # said once on the run, not once per stream
                            notes["unseen"].append(
                                f"{path.name}: sheet '{sheet.name}' was not read ({exc}); "
                                "name the sheets to read in `sheets` if it is no recap")
                    continue
                except ValueError as exc:
                    problems.append(f"sheet '{sheet.name}': {exc}" if label else str(exc))
                    continue
                read_any = True
                yield from self._rows(stream, budget, head, rows, start, positions,
                                      modified, notes)
            if not read_any and not problems:
                notes["unseen"].clear()  # said as the file's error instead
                problems.append(f"no worksheet has a heading row with the column "
                                f"'{self.columns['title']['path']}' in its first "
                                f"{HEADER_SCAN_ROWS} rows (it has "
                                f"{', '.join(str(s.name) for s in sheets)})")
            if problems and first:
                if not read_any and len(problems) == 1:
                    raise ValueError(problems[0])
                for problem in problems:
                    yield None, ({"file": path.name}, f"{path.name}: {problem}")
        except ValueError as exc:
            if first:
                yield None, ({"file": path.name}, f"{path.name}: {exc}")
        finally:
            for close in closers:
                close()

    def _rows(self, stream, budget, head, rows, start, positions, modified, notes):
        reporter = _norm(self.columns.get("reporter.name", {}).get("path"))
        footer, seen = False, notes["seen"]
        for index, row in enumerate(itertools.chain(head[start:], rows), start):
            cells = {n: _cell(row[i]) if i < len(row) else None
                     for n, i in positions.items()}
            if all(v is None for v in cells.values()):
                continue  # blank rows and the empty tail Excel keeps
            where = f"{budget.where} row {index + 1}"
            if self._not_a_record(row, cells, positions, footer):
                footer = True
                if stream == "reports":
                    notes["rows"] += 1
                continue
            said = row[positions[reporter]] if reporter in positions and \
                positions[reporter] < len(row) else None
            anonymous = isinstance(said, str) and _norm(said) in ANONYMOUS
            try:
                report = self._report(cells, where, modified, anonymous)
            except ValueError as exc:
                if stream == "reports":  # the responses stream skips it silently
                    yield None, (self._raw(cells, where), str(exc))
                continue
            if stream == "reports":
                # The same row in two sheets of a workbook (a year's sheet repeating the
                # months') is one record.
                mark = (report.external_id, json.dumps(report.fields, sort_keys=True,
                                                       default=str))
                if mark in seen:
                    continue
                seen.add(mark)
                report.raw = self._raw(cells, where)
                yield report, None
                continue
            answer = self._parse(cells, self.response_columns, where)
            if not answer.get("body"):
                continue
            answer = {k: v for k, v in answer.items() if v is not None}
            mark = (report.external_id, json.dumps(answer, sort_keys=True, default=str))
            if mark in seen:
                continue
            seen.add(mark)
            yield LocalRecord("responses", f"{report.external_id}#tanggapan",
                              report.updated_at, answer,
                              report_external_id=report.external_id,
                              raw={"where": where}), None

    def read(self, stream: str, cursor: dict | None):
        state = dict(cursor or {})
        if state.get("config") != self.config_hash:
            state = {"config": self.config_hash, "files": {}}
        done = dict(state.get("files") or {})
        # What this read skipped, per file: kept in the cursor, so the run records it.
        skipped: dict = {}

        def after():
            return {"config": self.config_hash, "files": dict(done),
                    **({"skipped": dict(skipped)} if skipped else {})}

        for path in self._files():
            data = self._read_file(path)
            digest = hashlib.sha256(data).hexdigest()
            if digest in done:
                continue  # this exact content was read already (any name, any folder)
            modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            notes = {"rows": 0, "sheets": {}, "unseen": [], "seen": set()}
            records, rejected, counted = [], [], 0
            for record, rejection in self._records(stream, path, data, modified, notes):
                if record is not None:
                    records.append(record)
                else:
                    rejected.append(rejection)
                if len(records) + len(rejected) >= self.page_size:
                    # The file is not done yet: a crash here re-reads it, harmlessly.
                    yield Page(records, after(), rejected,
                               skipped=notes["rows"] - counted)
                    records, rejected, counted = [], [], notes["rows"]
            done[digest] = path.name
            if notes["rows"] or notes["sheets"]:
                skipped[path.name] = {"rows": notes["rows"], "sheets": notes["sheets"]}
            yield Page(records, after(), rejected, incomplete=notes["unseen"],
                       skipped=notes["rows"] - counted)

    # --- writing: never -----------------------------------------------------------------

    read_only_reason = ("a spreadsheet recap is read-only (the hub only "
                        "imports it); handle this report in the hub instead")
    refusals = {"report": "add a report to the recap",
                "response": "add a response to the recap",
                "status": "change a status in the recap"}

    def check(self) -> dict:
        files = self._files()
        return {"ok": True, "files": [p.name for p in files]}


class _NoHeading(ValueError):
    """No row of the sheet names the title column: it may be no recap at all."""


def fieldmap_json(value):
    return value.isoformat() if isinstance(value, (datetime, date)) else value


CONNECTOR = SpreadsheetConnector
