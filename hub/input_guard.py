"""Refuse NUL characters in request input before any view sees it.

PostgreSQL cannot store U+0000 in text or jsonb, and the drivers raise on it deep in a
write: a NUL in an id, a query value, a form field or a JSON string was a 500 on many
routes. One check here covers every route, present and future: path, query, form fields
and JSON bodies. A view whose body holds independent items (a sync batch) opts out of
the whole-body JSON check with `@checks_items_alone` and checks each item itself
(`find_nul`, `nul_problem`), so one bad item fails alone.
"""
from flask import current_app, request

from hub.errors import Problem

NUL = "\x00"
_ESCAPED_NUL = b"\\u0000"  # how JSON spells it; a raw NUL byte is not valid JSON at all
_ITEMS_ALONE = "_hub_checks_items_alone"


def checks_items_alone(view):
    """Mark a view that checks the items of its JSON body for NULs one by one."""
    setattr(view, _ITEMS_ALONE, True)
    return view


def find_nul(value, path: str = ""):
    """The path (a.b.0.c) of the first string or key in `value` holding a NUL, or None."""
    if isinstance(value, str):
        return (path or "_body") if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                return here.replace(NUL, "\\u0000")
            found = find_nul(item, here)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def nul_problem(field: str, where: str = "") -> Problem:
    name = f"{where} {field}".strip()
    message = ("contains a NUL character (\\u0000), which the hub does not accept; "
               "remove it and send again")
    return Problem(400, "NUL character in input", f"The {name} {message}.",
                   slug="nul-character", errors={field: message})


def check_request() -> None:
    """before_request: raise a 400 Problem naming the first input that holds a NUL."""
    if NUL in request.path:
        raise nul_problem("path", "URL")
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and NUL in value:
            raise nul_problem(name, "URL parameter")
    for key, values in request.args.lists():
        if NUL in key or any(NUL in v for v in values):
            raise nul_problem(key.replace(NUL, "\\u0000"), "query parameter")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, values in request.form.lists():
            if NUL in key or any(NUL in v for v in values):
                raise nul_problem(key.replace(NUL, "\\u0000"), "form field")
        # An upload's file name is not refused: the attachment service sanitises it.
    if request.is_json and not _items_alone():
        raw = request.get_data(cache=True)
        # Most bodies have no escaped NUL at all: no second parse for them.
        if _ESCAPED_NUL in raw:
            field = find_nul(request.get_json(silent=True))
            if field:
                raise nul_problem(field, "field")


def _items_alone() -> bool:
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, _ITEMS_ALONE, False))


def init_app(app) -> None:
    # First of all before_request functions: nothing (auth, sessions, CSRF) reads a value
    # with a NUL in it.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
