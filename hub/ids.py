"""Ids of the rows the hub creates in bulk (reports, responses, attachments).

Time-ordered UUIDs (version 7, RFC 9562), not random ones (version 4): a backfill inserts
millions of reports, and every index keyed by a report id (the reports' primary key, the
tenant rows, the timeline's report index) then grows at its right edge instead of taking
each new key on a random page. Random keys stop fitting in the buffer cache somewhere
past a few hundred thousand reports, and each insert then waits on a read. The 74 random
bits left still make an id unguessable; the millisecond in it says no more than the
report's own created_at.
"""
from uuid_utils.compat import uuid7 as new_id  # a stdlib uuid.UUID, made in Rust

__all__ = ["new_id"]
