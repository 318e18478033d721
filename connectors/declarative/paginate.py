"""Paginator: the query of the next page, and whether the listing was seen whole.

Kinds: none, page (page number and size), offset (offset and limit), cursor (a token the
answer names). A server may cap the page size without saying so (ask 100, get 50). When
the answer says how far the listing goes (`last_page_path`, `total_path`), the paginator
takes the served size and pages on. When it does not, a short page ends the listing as
it always did, unless the answer itself says there is more (a `totalPages`, `last_page`
or `total` the configuration does not name): then the stream is marked incomplete, with
what was not seen, and its run cannot be "succeeded".
"""
from connectors.fieldmap import get_path

KINDS = ("none", "page", "offset", "cursor")
# Where list APIs commonly say how far a listing goes, looked at only to tell an officer
# that records were left unread; never used to page on (a guess could skip records).
_HINT_PREFIXES = ("", "meta.", "pagination.", "page_info.", "paging.")
_LAST_KEYS = ("last_page", "lastPage", "totalPages", "total_pages", "pageCount")
_TOTAL_KEYS = ("total", "totalCount", "total_count", "totalItems")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _hint(body, keys):
    if not isinstance(body, dict):
        return None, None
    for prefix in _HINT_PREFIXES:
        for key in keys:
            value = _int(get_path(body, prefix + key))
            if value is not None:
                return prefix + key, value
    return None, None


class Paginator:
    def __init__(self, spec: dict | None, where: str):
        spec = spec or {"type": "none"}
        self.spec, self.where = spec, where
        self.kind = spec.get("type", "none")
        self.asked = int(spec.get("size", 100))   # what the configuration asks for
        self.size = self.asked                    # what is asked now (the served size)
        self.start = int(spec.get("start", 1))
        self.page_no, self.offset, self.token = self.start, 0, None
        self.seen = 0          # records of the listing read so far (top-level ones)
        self.gaps: list[str] = []
        self.read_label = self.label

    @property
    def label(self) -> str:
        return f"page {self.page_no}" if self.kind == "page" else \
            f"offset {self.offset}" if self.kind == "offset" else "the next page"

    def query(self) -> dict:
        spec, kind = self.spec, self.kind
        if kind == "page":
            return {spec.get("page_param", "page"): self.page_no,
                    spec.get("size_param", "per_page"): self.size}
        if kind == "offset":
            return {spec.get("offset_param", "offset"): self.offset,
                    spec.get("limit_param", "limit"): self.size}
        if kind == "cursor":
            query = {}
            if spec.get("size_param"):  # keyset APIs usually take a size too
                query[spec["size_param"]] = self.size
            if self.token:
                query[spec.get("cursor_param", "cursor")] = self.token
            return query
        return {}

    def advance(self, body, served: int) -> bool:
        """Take the answer of the page just read; True when there is a next page."""
        self.read_label = self.label
        self.seen += served
        if self.kind == "none" or served == 0:
            self._check_total(body)
            return False
        if self.kind == "cursor":
            self.token = get_path(body, self.spec["next_path"])
            return bool(self.token)
        last = _int(get_path(body, self.spec["last_page_path"])) \
            if self.spec.get("last_page_path") and self.kind == "page" else None
        total = self._total(body)
        if last is not None:
            more = self.page_no < last
        elif total is not None:
            more = self.seen < total
        else:
            more = served >= self.size
            if not more:
                self._undeclared_more(body, served)
                return False
        if not more:
            self._check_total(body)
            return False
        if served < self.size:
            return self._adapt(served)
        if self.kind == "page":
            self.page_no += 1
        else:
            self.offset += served
        return True

    def _total(self, body):
        path = self.spec.get("total_path")
        return _int(get_path(body, path)) if path else None

    def _adapt(self, served: int) -> bool:
        """The server served fewer than asked yet says there is more: it caps the page
        size. Page on at the served size (offsets simply move by what was served)."""
        if self.kind == "offset":
            self.offset += served
            self.size = served
            return True
        if self.seen % served:
            self.gaps.append(f"{self.where}: the local system served {served} records on "
                             f"page {self.page_no} where {self.size} were asked, and the "
                             f"{self.seen} read so far are no whole number of such pages: "
                             f"the rest cannot be paged without skipping; set pagination."
                             f"size to {served}")
            return False
        self.size = served
        self.page_no = self.start + self.seen // served
        return True

    def _check_total(self, body) -> None:
        total = self._total(body)
        if total is not None and self.seen < total:
            self.gaps.append(f"{self.where}: the listing ended after {self.seen} records "
                             f"but the local system says there are {total} "
                             f"({self.spec['total_path']}); {total - self.seen} not read")

    def _undeclared_more(self, body, served: int) -> None:
        key, last = _hint(body, _LAST_KEYS)
        if key and self.kind == "page" and last > self.page_no:
            self.gaps.append(self._unseen(served, f"{key} = {last}"))
            return
        key, total = _hint(body, _TOTAL_KEYS)
        if key and total > self.seen:
            self.gaps.append(self._unseen(served, f"{key} = {total}, "
                                                  f"{total - self.seen} not read"))

    def _unseen(self, served: int, said: str) -> str:
        return (f"{self.where}: the local system served {served} records where "
                f"{self.size} were asked ({self.label}) and says there are more ({said}); "
                f"only {self.seen} were read. Name where the answer says how far the "
                f"listing goes (pagination.last_page_path or total_path) so the connector "
                f"can page on at the size the server allows")
