"""JSON Schemas of the declarative parts, so a manifest is checked whole before it runs:
every key a part reads is declared, and any other key is refused by name (a misspelt
`pagniation` would otherwise be ignored and the connector read one page). The parts'
runtime checks stay (they also guard configs built in code); these say it up front.
"""
from connectors.declarative import auth as authmod
from connectors.declarative import paginate

_STR = {"type": "string"}
_INT = {"type": "integer", "minimum": 1}

PAGINATION = {
    "type": "object", "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"enum": list(paginate.KINDS)},
        "page_param": _STR, "size_param": _STR, "size": _INT,
        "start": {"type": "integer", "minimum": 0},
        "last_page_path": _STR, "total_path": _STR,
        "offset_param": _STR, "limit_param": _STR,
        "next_path": _STR, "cursor_param": _STR,
    },
}

LISTING = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "path": _STR,
        "params": {"type": "object"},
        "records_path": _STR,
        "since_param": _STR,
        "since_format": _STR,
        "since_timezone": _STR,
        "order": {"enum": ["oldest_first", "newest_first"]},
        "max_pages": _INT,
        "pagination": PAGINATION,
    },
}

# A field spec: a dotted path into the local record, or the long form.
FIELD = {
    "oneOf": [
        _STR,
        {"type": "object", "additionalProperties": False,
         "properties": {
             "path": _STR, "const": {}, "template": _STR, "parent_path": _STR,
             "type": {"enum": ["datetime", "date", "bool", "str", "float"]},
             "map": {"type": "object"}, "default": {}},
         "oneOf": [{"required": ["path"]}, {"required": ["const"]},
                   {"required": ["template"]}, {"required": ["parent_path"]}]},
    ],
}

PARENT = {
    "type": "object", "additionalProperties": False, "required": ["stream"],
    "properties": {"stream": _STR, "records_path": _STR, "incremental": {"type": "boolean"}},
}

ORIGIN = {
    "type": "object", "additionalProperties": False, "required": ["path"],
    "properties": {"path": _STR, "hub_value": {}, "hub_id_path": _STR},
}

STREAM = {
    "type": "object", "additionalProperties": False, "required": ["fields"],
    "properties": {
        "list": LISTING,
        "parent": PARENT,
        "origin": ORIGIN,
        "fields": {"type": "object", "additionalProperties": FIELD},
    },
    "anyOf": [{"required": ["list"]}, {"required": ["parent"]}],
}

WRITE = {
    "type": "object", "additionalProperties": False, "required": ["path"],
    "properties": {"method": {"enum": ["POST", "PUT", "PATCH"]}, "path": _STR,
                   "body": {}, "id_path": _STR},
}

FIND = {
    "type": "object", "additionalProperties": False, "required": ["path", "id_path"],
    "properties": {"path": _STR, "query": {"type": "object"}, "records_path": _STR,
                   "match_path": _STR, "id_path": _STR},
}

# Nested specifics sit under allOf: the connector form (hub.ui.connector_forms) renders an
# object with top-level `properties` as a fieldset, and these stay one JSON box there.
WRITES = {
    "type": "object",
    "allOf": [{"additionalProperties": False,
               "properties": {"report": WRITE, "response": WRITE, "status": WRITE,
                              "find_report": FIND, "find_response": FIND}}],
}

def _streams(stream: dict) -> dict:
    return {"type": "object", "minProperties": 1,
            "allOf": [{"additionalProperties": False,
                       "properties": {"reports": stream, "responses": stream}}]}


STREAMS = _streams(STREAM)

AUTH = {
    "type": "object", "title": "Authentication", "additionalProperties": False,
    "properties": {
        "type": {"enum": list(authmod.KINDS)},
        "header": _STR, "token_url": _STR, "username": _STR, "scope": _STR,
        "login_path": _STR, "cookie": _STR, "token_path": _STR, "body": {"type": "object"},
        "session_seconds": {"type": "number", "exclusiveMinimum": 0},
    },
}


# A SQL view's stream: one table, view or SELECT, keyset-paged by (since_column, id).
SQL_STREAM = {
    "type": "object", "additionalProperties": False, "required": ["query", "id_column"],
    "properties": {
        "query": _STR, "id_column": _STR, "since_column": _STR,
        "fields": {"type": "object", "additionalProperties": FIELD},
    },
}

SQL_STREAMS = _streams(SQL_STREAM)
