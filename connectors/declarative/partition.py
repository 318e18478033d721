"""Partition router: a stream read under the records of another (its parent).

    responses:
      parent: {stream: reports, records_path: tanggapan}    # kept inside each complaint
    responses:
      parent: {stream: reports}                              # a sub-request per complaint
      list: {path: "/api/reports/{parent_id}/comments", records_path: ""}

The parent stream's listing is read as that stream reads it (its path, paging, fields);
each child knows its parent's id (report_external_id, unless its fields name it).
`incremental: true` reads only the parents changed since this stream's cursor: right
only where a new child changes its parent's last-modified time, hence off by default.
"""
from urllib.parse import quote

from connectors.base import ConnectorError


class Parent:
    def __init__(self, spec, stream: str, streams: dict):
        if not isinstance(spec, dict) or not spec.get("stream"):
            raise ConnectorError(f"stream {stream}: parent needs `stream` (the stream whose "
                                 "records hold or lead to this one's)", retryable=False)
        self.stream = spec["stream"]
        if self.stream == stream or self.stream not in streams or \
                "parent" in streams[self.stream]:
            raise ConnectorError(f"stream {stream}: parent stream {self.stream!r} must be "
                                 "another configured stream read from its own list",
                                 retryable=False)
        self.records_path = spec.get("records_path")
        self.incremental = bool(spec.get("incremental", False))
        self.embedded = self.records_path is not None
        if not self.embedded and "list" not in streams[stream]:
            raise ConnectorError(f"stream {stream}: with a parent, give parent.records_path "
                                 "(children kept inside the parent) or list.path with "
                                 "{parent_id} (a request per parent)", retryable=False)

    @staticmethod
    def child_path(template: str, parent_id: str) -> str:
        """The sub-request path of one parent: {parent_id} filled, escaped (a local id is
        untrusted input and must not reach another path)."""
        if "{parent_id}" not in template:
            raise ConnectorError(f"list.path {template!r} of a stream with a parent must "
                                 "contain {parent_id}", retryable=False)
        return template.replace("{parent_id}", quote(parent_id, safe=""))
