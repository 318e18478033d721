"""representations.report_json written in SQL, for PostgreSQL to build a report's JSON text.

The hot reads (a list page, a report by key) spent most of their CPU turning rows into
views, views into dicts and dicts into JSON, 24 fields a report. PostgreSQL does the same
in C as it reads the rows, and Python passes one text per report through. Everything
report_json decides holds here too, and tests/services/test_listing_json.py keeps the two
equal (after JSON parse, with types) on generated reports and callers:

- the privacy rule of representations.reporter_for, decided per caller *kind* when the
  statement is built and per report by an SQL condition `responsible` (the caller's agency
  covers the agency now responsible), which the statement supplies;
- timestamps as Python's isoformat in UTC with "Z": six fraction digits, none when the
  microseconds are zero (to_char, not PostgreSQL's own JSON timestamps, which cut
  trailing zeros and follow the session's TimeZone);
- floats as Python's repr: an integral value keeps its ".0" (PostgreSQL prints "7");
  otherwise PostgreSQL's shortest round-trip form is repr's for |x| < 1e15, which covers
  lat and lon. That form needs extra_float_digits >= 1 (a server set to 0 or less would
  round to 15 digits), which hub.postgresql sets on every connection;
- refs by id, attachments by creation (then id), the report's own attachments only.

The text is built with concat() rather than json_build_object: the same output for less
of PostgreSQL's CPU (json_build_object looks up the type of each of its 48 arguments on
every call). concat() writes NULL as nothing, so every
nullable value is COALESCEd to `null` here, decided from the model's own nullability.
"""
from hub.models import Attachment, Report, ReportExternalRef

_NULLABLE = {c.key for c in Report.__table__.c if c.nullable}


def _text(sql: str) -> str:
    return "'" + sql.replace("'", "''") + "'"


def _timestamp(expr: str) -> str:
    return (f"""replace(to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),"""
            """ '.000000Z', 'Z')""")


class _Object:
    """A JSON object as concat() arguments: literal pieces (merged) and SQL values."""

    def __init__(self):
        self.parts: list[tuple[bool, str]] = []  # (is literal, text)

    def literal(self, text: str):
        if self.parts and self.parts[-1][0]:
            self.parts[-1] = (True, self.parts[-1][1] + text)
        else:
            self.parts.append((True, text))

    def value(self, sql: str):
        self.parts.append((False, sql))

    def arguments(self) -> list[str]:
        return [_text(text) if literal else text for literal, text in self.parts]

    def sql(self) -> str:
        # concat() takes at most 100 arguments; a report needs about 60.
        args = self.arguments()
        assert len(args) <= 100, len(args)
        return "concat(" + ", ".join(args) + ")"


def _field(obj: _Object, first: bool, key: str, kind: str, expr: str, nullable: bool):
    obj.literal(("" if first else ",") + f'"{key}":')
    if kind == "uuid" and not nullable:
        obj.literal('"')
        obj.value(expr)
        obj.literal('"')
        return
    if kind == "timestamp":
        value = f"""'"' || {_timestamp(expr)} || '"'"""
    elif kind == "float":
        value = f"CASE WHEN {expr} = trunc({expr}) THEN {expr}::text || '.0' ELSE {expr}::text END"
    elif kind == "json":
        value = expr
    else:  # text, uuid, boolean, integer: to_json writes them as Python's json does
        value = f"to_json({expr})"
    obj.value(f"COALESCE({value}, 'null')" if nullable else value)


def _object(fields, page: str) -> str:
    obj = _Object()
    obj.literal("{")
    for i, (key, kind, column) in enumerate(fields):
        expr = column if kind == "json" else f"{page}.{column}"
        _field(obj, i == 0, key, kind, expr, kind != "json" and column in _NULLABLE)
    obj.literal("}")
    return obj.sql()


def _reporter(page: str, full: bool, responsible: str | None) -> str:
    """representations.reporter_for as SQL. `full`: the caller sees every identity
    (admin). `responsible`: an SQL condition that the caller's agency covers the one now
    responsible, or None when the caller is national (it never does)."""
    everything = _object([("name", "text", "reporter_name"), ("phone", "text", "reporter_phone"),
                          ("email", "text", "reporter_email")], page)
    if full:
        return everything
    name_only = _object([("name", "text", "reporter_name")], page)
    # A NULL condition (no agency responsible yet) falls through to the name alone, as
    # in_scope(principal, None) is False.
    covered = f"WHEN {responsible} THEN {everything} " if responsible else ""
    return f"CASE WHEN {page}.anonymous THEN 'null' {covered}ELSE {name_only} END"


def _refs(page: str) -> str:
    ref = ReportExternalRef.__tablename__
    item = _object([("system", "text", "system"), ("external_id", "text", "external_id")], "x")
    return (f"COALESCE((SELECT '[' || string_agg({item}, ',' ORDER BY x.id) || ']' "
            f"FROM {ref} x WHERE x.report_id = {page}.id), '[]')")


def _attachments(page: str) -> str:
    # representations.attachment_dict, url included.
    obj = _Object()
    obj.literal('{"id":"')
    obj.value("a.id")
    obj.literal('","filename":')
    obj.value("to_json(a.filename)")
    obj.literal(',"content_type":')
    obj.value("to_json(a.content_type)")
    obj.literal(',"size":')
    obj.value("a.size")
    obj.literal(',"url":"/api/v1/reports/')
    obj.value("a.report_id")
    obj.literal("/attachments/")
    obj.value("a.id")
    obj.literal('"}')
    table = Attachment.__tablename__
    return (f"COALESCE((SELECT '[' || string_agg({obj.sql()}, ',' ORDER BY a.created_at, a.id)"
            f" || ']' FROM {table} a WHERE a.report_id = {page}.id AND a.response_id IS NULL),"
            " '[]')")


def report_json_sql(page: str, *, full_reporter: bool, responsible: str | None) -> str:
    """An SQL expression: the text of report_json for the row of `page` (a FROM item with
    listing.SHOWN's columns). See _reporter for `full_reporter` and `responsible`."""
    location = _object([("text", "text", "location_text"), ("region_code", "text", "region_code"),
                        ("lat", "float", "lat"), ("lon", "float", "lon")], page)
    privacy = _object([("anonymous", "boolean", "anonymous"),
                       ("confidential", "boolean", "confidential")], page)
    return _object([
        ("id", "uuid", "id"), ("tracking_id", "text", "tracking_id"), ("title", "text", "title"),
        ("body", "text", "body"), ("category", "text", "category_code"),
        ("classification", "text", "classification"), ("channel", "text", "channel"),
        ("location", "json", location),
        ("occurred_at", "timestamp", "occurred_at"), ("submitted_at", "timestamp", "submitted_at"),
        ("privacy", "json", privacy),
        ("reporter", "json", _reporter(page, full_reporter, responsible)),
        ("agency", "text", "agency_code"), ("status", "text", "status"),
        ("due_at", "timestamp", "due_at"),
        ("external_refs", "json", _refs(page)), ("attachments", "json", _attachments(page)),
        ("version", "integer", "version"), ("created_at", "timestamp", "created_at"),
        ("updated_at", "timestamp", "updated_at"),
    ], page)
