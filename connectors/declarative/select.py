"""Record selector: where a list answer keeps its records.

A path is dotted, and a segment `name[*]` (or a bare `[*]`) steps into every element of an
array: `data` is the list at `data`; `data[*].tanggapan[*]` is every follow-up kept inside
every complaint. Each record is returned with the record that holds it (its parent), so a
follow-up knows its complaint's id.
"""
from connectors.base import ConnectorError
from connectors.fieldmap import get_path


class Selected(tuple):
    """(record, parent): parent is the object whose array held the record, or None."""

    @property
    def record(self):
        return self[0]

    @property
    def parent(self):
        return self[1]


def _segments(path: str) -> list[tuple[str, bool]]:
    """'data[*].tanggapan[*]' -> [('data', True), ('tanggapan', True)]."""
    out = []
    for part in path.split("."):
        wild = part.endswith("[*]")
        name = part[:-3] if wild else part
        out.append((name, wild))
    return out


def is_wild(path: str | None) -> bool:
    return bool(path) and "[*]" in path


def select(body, path: str | None, where: str = "the answer") -> list[Selected]:
    """The records at `path` in `body` (an empty or missing path: the body itself)."""
    if not path:
        items = body
    elif not is_wild(path):
        items = get_path(body, path)
    else:
        return _walk_wild(body, _segments(path), None, path, where)
    if not isinstance(items, list):
        raise ConnectorError(f"{where}: expected a list at '{path or '(the whole answer)'}', "
                             f"got {type(items).__name__}")
    return [Selected((item, None)) for item in items]


def _walk_wild(node, segments, parent, path, where) -> list[Selected]:
    (name, wild), rest = segments[0], segments[1:]
    value = get_path(node, name) if name else node
    if not wild:
        if not rest:
            raise ConnectorError(f"{where}: records_path '{path}' must end in a list")
        return _walk_wild(value, rest, parent, path, where) if value is not None else []
    if value is None and parent is not None:
        return []  # a complaint without follow-ups may leave the array out
    if not isinstance(value, list):
        raise ConnectorError(f"{where}: expected a list at '{name or '(the answer)'}' of "
                             f"records_path '{path}', got {type(value).__name__}")
    if not rest:
        return [Selected((item, node if name else parent)) for item in value]
    out = []
    for item in value:
        out.extend(_walk_wild(item, rest, item, path, where))
    return out


def top_level(body, path: str | None):
    """The list the paging counts: the first array of a wildcard path (the complaints of
    `data[*].tanggapan[*]`), the records themselves otherwise."""
    if not is_wild(path):
        return None
    first = path.split("[*]")[0]
    items = get_path(body, first) if first else body
    return items if isinstance(items, list) else None
