"""Spreadsheet connector: the monthly recaps (rekap bulanan) offices keep in Excel or CSV.

Many units never had an app: they keep a recap with the columns
`No, Tanggal, Tracking ID, User, Judul, Stakeholder, Tanggapan, Keterangan` and someone
re-types it into LAPOR!. This connector reads those files instead (see
mappings/kab-bantul/rekap-bulanan.yaml):

  source     `path` (one file) and/or `inbox_dir` (every .csv/.xlsx dropped there); run
             by the hub, both are relative to the agency's inbox folder and nothing
             outside it is read (`Inbox`)
  limits     a recap is untrusted input: file size, uncompressed size of an .xlsx, rows,
             columns and parsing time are bounded (`Limits`); past one the read fails
             with a message saying which, never a worker swollen or stuck
  reports    one per row; `columns` are field specs as in the REST connector, but the
             paths are column headings (matched ignoring case and spacing)
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
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path, PurePosixPath, PureWindowsPath

from connectors import fieldmap
from connectors.base import ConnectorError, LocalRecord, Page, ReadOnly

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["timezone", "columns"],
    "properties": {
        "path": {"type": "string", "title": "One recap file (.csv or .xlsx), in the "
                 "agency's inbox"},
        "inbox_dir": {"type": "string", "title": "Folder of uploaded recaps in the agency's "
                      "inbox (all are read; '.' is the inbox itself)"},
        "sheet": {"type": "string", "title": "Worksheet name (default: the first)"},
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
                         "title": "strptime formats tried after ISO 8601"},
        "page_size": {"type": "integer", "default": 500},
    },
    "secrets": [],
}

# Indonesian offices write day-first dates; "Maret"/"Mar" names appear in typed dates.
DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d-%m-%Y",
                "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d.%m.%Y", "%d/%m/%y")
MONTHS = {"jan": 1, "feb": 2, "peb": 2, "mar": 3, "apr": 4, "mei": 5, "may": 5, "jun": 6,
          "jul": 7, "agu": 8, "ags": 8, "agt": 8, "aug": 8, "sep": 9, "okt": 10, "oct": 10,
          "nov": 11, "nop": 11, "des": 12, "dec": 12}
NAMED_DATE = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})(?:[\s,]+(\d{1,2})[:.](\d{2}))?")
BLANKS = {"", "-", "–", "—"}          # recaps mark "nothing" with a dash
HEADER_SCAN_ROWS = 30                  # a title block often sits above the heading row
READABLE = (".csv", ".xlsx")
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


def _zip_within(data: bytes, name: str, limits: Limits, budget: "_Budget") -> None:
    """Refuse an .xlsx that would cost more than a recap before openpyxl builds anything
    from it: content unzipping beyond the limit, a worksheet with too many rows or a row
    with more cells than Excel allows, more shared strings than such rows could use.

    The sizes are those the archive declares; zipfile stops reading a member at its
    declared size (a lie there ends in a CRC error), so they bound the real work. The
    XML is scanned with expat, which keeps nothing, so the scan itself stays small."""
    import xml.parsers.expat
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return  # not a zip: openpyxl says so in its own words
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

            def start(tag, _attrs, counts=counts):
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


class _Budget:
    """Rows of one file, counted and timed: the time spent producing them (opening and
    parsing the file, not the engine's work between pages) must stay within the limit.
    The unzipped-size limit bounds how long any single step can take."""

    def __init__(self, name: str, limits: Limits, spent: float = 0.0):
        self.rows, self.name, self.limits = iter(()), name, limits
        self.spent, self.count = spent, 0

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
        if self.count > self.limits.max_rows:
            raise _over(f"{self.name} has more than {self.limits.max_rows} rows; split "
                        "the recap into smaller files")
        row = list(row)
        while row and row[-1] in (None, ""):
            row.pop()  # trailing empty cells are formatting, not columns
        if len(row) > self.limits.max_columns:
            raise _over(f"{self.name} row {self.count} has more than "
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


def to_datetime(value, formats=DATE_FORMATS):
    """A date cell -> datetime (naive = the recap's time zone). ValueError if unreadable."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, (int, float)) and 20000 < value < 80000:  # an Excel serial day
        from openpyxl.utils.datetime import from_excel
        return from_excel(value)
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    match = NAMED_DATE.search(text)  # "Senin, 4 Maret 2024 09.15"
    if match and match.group(2)[:3].lower() in MONTHS:
        day, _, year, hour, minute = match.groups()
        return datetime(int(year), MONTHS[match.group(2)[:3].lower()], int(day),
                        int(hour or 0), int(minute or 0))
    raise ValueError(f"'{text}' is not a date (write it as DD/MM/YYYY or YYYY-MM-DD)")


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
        self.formats = tuple(config.get("date_formats") or DATE_FORMATS)
        self.page_size = int(config.get("page_size", 500))
        # Changing the column config must re-read every file, or files read with the old
        # (perhaps wrong) headings would stay skipped forever.
        self.config_hash = hashlib.sha256(json.dumps(
            [config.get("columns"), responses, config.get("status_column"),
             config.get("status_default"), config.get("default_channel"),
             config.get("default_category"), config.get("sheet"), self.tz],
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

    def _table(self, path: Path, data: bytes):
        """The file's rows, streamed within the limits (an iterator of lists)."""
        started = clock.perf_counter()
        budget = _Budget(path.name, self.limits)
        if path.suffix.lower() == ".xlsx":
            import openpyxl
            _zip_within(data, path.name, self.limits, budget)
            try:
                book = openpyxl.load_workbook(io.BytesIO(data), read_only=True,
                                              data_only=True)  # formulas: their values
            except Exception as exc:
                raise ValueError("cannot open it as an Excel file "
                                 f"({exc.__class__.__name__})") from None
            budget.tick(started)
            name = self.config.get("sheet")
            if name and name not in book.sheetnames:
                raise ValueError(f"it has no worksheet '{name}' (it has "
                                 f"{', '.join(book.sheetnames)})")
            sheet = book[name] if name else book.worksheets[0]
            # The declared dimension is the file's claim, not its content: without it,
            # rows are not padded to a width (or a height) the file only pretends to have.
            sheet.reset_dimensions()
            budget.rows = self._closing(book, sheet.iter_rows(values_only=True))
            return budget
        for encoding in ("utf-8-sig", "cp1252"):  # Excel on Windows saves CSV as cp1252
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        # Indonesian Excel saves CSV with ";" (the comma is the decimal separator). The
        # delimiter is the one that yields the title heading as a cell of its own (the
        # csv.Sniffer guesses wrong on short files full of dates and commas in titles).
        title = _norm(self.columns["title"]["path"])
        csv.field_size_limit(1024 * 1024)
        delimiter = ","
        for d in ",;\t":
            head = [row for _, row in zip(range(HEADER_SCAN_ROWS),
                                          csv.reader(io.StringIO(text), delimiter=d),
                                          strict=False)]
            if any(title in {_norm(c) for c in row} for row in head):
                delimiter = d
                break
        budget.tick(started)
        budget.rows = csv.reader(io.StringIO(text), delimiter=delimiter)
        return budget

    @staticmethod
    def _closing(book, rows):
        try:
            yield from rows
        finally:
            book.close()

    def _header(self, rows: list[list], specs: dict) -> tuple[int, dict]:
        """(index of the heading row, {column heading: position}). The heading row is the
        first holding the title column; every configured column must be in it (a renamed
        column must fail loudly, not import empty values), unless marked optional."""
        wanted = {_norm(s["path"]): s for s in specs.values() if "path" in s}
        title = _norm(self.columns["title"]["path"])
        for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
            names = {_norm(c): i for i, c in enumerate(row) if _cell(c) is not None}
            if title in names:
                missing = [s["path"] for n, s in wanted.items()
                           if n not in names and not s.get("optional")]
                if missing:
                    raise ValueError(f"the heading row (row {index + 1}) has no column "
                                     f"{', '.join(repr(m) for m in missing)}")
                return index, {n: names[n] for n in wanted if n in names}
        raise ValueError(f"no heading row with the column '{self.columns['title']['path']}' "
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
                        value = to_datetime(value, self.formats)
                    except ValueError as exc:
                        raise ValueError(f"{where}: column '{spec['path']}': {exc}") from None
                row[key], spec["path"] = value, key
            keyed[name] = spec
        try:
            return fieldmap.extract(row, keyed, self.tz)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def _report(self, cells: dict, where: str, modified: datetime) -> LocalRecord:
        flat = self._parse(cells, self.columns, where)
        title = flat.get("title")
        if not title:
            raise ValueError(f"{where}: no title (column "
                             f"'{self.columns['title']['path']}' is empty)")
        external_id = flat.pop("external_id", None)
        if external_id in (None, ""):
            # No tracking id: a stable one from what identifies the complaint.
            when = flat.get("submitted_at")
            key = "|".join([when.isoformat() if when else "",
                            _norm(flat.get("reporter.name")), _norm(title)])
            external_id = "rekap-" + hashlib.sha256(key.encode()).hexdigest()[:16]
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

    def _records(self, stream, path: Path, data: bytes, modified: datetime):
        """Yield (record | None, rejection | None) for each row of one file."""
        specs = self.columns if stream == "reports" else {**self.columns,
                                                           **{"response." + k: v for k, v in
                                                              self.response_columns.items()}}
        try:
            if path.suffix.lower() not in READABLE:
                raise ValueError("only .csv and .xlsx files are read (save it as .xlsx)")
            rows = self._table(path, data)
            head = [row for _, row in zip(range(HEADER_SCAN_ROWS), rows, strict=False)]
            start, positions = self._header(head, specs)
        except ValueError as exc:
            if stream == "reports":  # reported once, not once per stream
                yield None, ({"file": path.name}, f"{path.name}: {exc}")
            return
        for index, row in enumerate(itertools.chain(head[start + 1:], rows), start + 1):
            cells = {n: _cell(row[i]) if i < len(row) else None
                     for n, i in positions.items()}
            if all(v is None for v in cells.values()):
                continue  # blank rows and the empty tail Excel keeps
            where = f"{path.name} row {index + 1}"
            try:
                report = self._report(cells, where, modified)
            except ValueError as exc:
                if stream == "reports":  # the responses stream skips it silently
                    yield None, (self._raw(cells, where), str(exc))
                continue
            if stream == "reports":
                report.raw = self._raw(cells, where)
                yield report, None
                continue
            answer = self._parse(cells, self.response_columns, where)
            if not answer.get("body"):
                continue
            answer = {k: v for k, v in answer.items() if v is not None}
            yield LocalRecord("responses", f"{report.external_id}#tanggapan",
                              report.updated_at, answer,
                              report_external_id=report.external_id,
                              raw={"where": where}), None

    def read(self, stream: str, cursor: dict | None):
        state = dict(cursor or {})
        if state.get("config") != self.config_hash:
            state = {"config": self.config_hash, "files": {}}
        done = dict(state.get("files") or {})
        for path in self._files():
            data = self._read_file(path)
            digest = hashlib.sha256(data).hexdigest()
            if digest in done:
                continue  # this exact content was read already (any name, any folder)
            modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            records, rejected = [], []
            for record, rejection in self._records(stream, path, data, modified):
                if record is not None:
                    records.append(record)
                else:
                    rejected.append(rejection)
                if len(records) + len(rejected) >= self.page_size:
                    # The file is not done yet: a crash here re-reads it, harmlessly.
                    yield Page(records, {"config": self.config_hash, "files": dict(done)},
                               rejected)
                    records, rejected = [], []
            done[digest] = path.name
            yield Page(records, {"config": self.config_hash, "files": dict(done)}, rejected)

    # --- writing: never -----------------------------------------------------------------

    read_only_reason = ("a spreadsheet recap is read-only (the hub only "
                        "imports it); handle this report in the hub instead")
    refusals = {"report": "add a report to the recap",
                "response": "add a response to the recap",
                "status": "change a status in the recap"}

    def check(self) -> dict:
        files = self._files()
        return {"ok": True, "files": [p.name for p in files]}


def fieldmap_json(value):
    return value.isoformat() if isinstance(value, (datetime, date)) else value


CONNECTOR = SpreadsheetConnector
