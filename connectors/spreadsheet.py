"""Spreadsheet connector: the monthly recaps (rekap bulanan) offices keep in Excel or CSV.

Many units never had an app: they keep a recap with the columns
`No, Tanggal, Tracking ID, User, Judul, Stakeholder, Tanggapan, Keterangan` and someone
re-types it into LAPOR!. This connector reads those files instead (see
mappings/kab-bantul/rekap-bulanan.yaml):

  source     `path` (one file) and/or `inbox_dir` (every .csv/.xlsx dropped there)
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
import json
import re
from datetime import date, datetime, time, timezone
from pathlib import Path

from connectors import fieldmap
from connectors.base import ConnectorError, LocalRecord, Page, ReadOnly

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["timezone", "columns"],
    "properties": {
        "path": {"type": "string", "title": "One recap file (.csv or .xlsx)"},
        "inbox_dir": {"type": "string", "title": "Folder of uploaded recaps (all are read)"},
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

    def __init__(self, config: dict, secrets: dict | None = None):
        self.config = config
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
            path = Path(self.config["path"])
            if not path.is_file():
                raise ConnectorError(f"recap file {path} not found (is the share mounted?)")
            found.append(path)
        if self.config.get("inbox_dir"):
            inbox = Path(self.config["inbox_dir"])
            if not inbox.is_dir():
                raise ConnectorError(f"inbox folder {inbox} not found")
            # "~$x.xlsx" is Excel's lock file; dot files are editors' and uploads' temp files.
            found += [p for p in inbox.iterdir() if p.is_file()
                      and not p.name.startswith(("~$", "."))]
        # Oldest first: a later recap's copy of a row is newer and must be applied last.
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def _table(self, path: Path, data: bytes) -> list[list]:
        if path.suffix.lower() == ".xlsx":
            import openpyxl
            try:
                book = openpyxl.load_workbook(io.BytesIO(data), read_only=True,
                                              data_only=True)  # formulas: their values
            except Exception as exc:
                raise ValueError("cannot open it as an Excel file "
                                 f"({exc.__class__.__name__})") from None
            name = self.config.get("sheet")
            if name and name not in book.sheetnames:
                raise ValueError(f"it has no worksheet '{name}' (it has "
                                 f"{', '.join(book.sheetnames)})")
            sheet = book[name] if name else book.worksheets[0]
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            book.close()
            return rows
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
        tables = [list(csv.reader(io.StringIO(text), delimiter=d)) for d in ",;\t"]
        for rows in tables:
            if any(title in {_norm(c) for c in row} for row in rows[:HEADER_SCAN_ROWS]):
                return rows
        return tables[0]

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
            start, positions = self._header(rows, specs)
        except ValueError as exc:
            if stream == "reports":  # reported once, not once per stream
                yield None, ({"file": path.name}, f"{path.name}: {exc}")
            return
        for index in range(start + 1, len(rows)):
            cells = {n: _cell(rows[index][i]) if i < len(rows[index]) else None
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
            data = path.read_bytes()
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
