"""The search projection: every order the table ever held, searchable by its text.

A STAND-IN, not the production target: the documents live in SQLite (full-text search with
FTS5) in a file named by ``SEARCH_STORE``, which works only where every execution environment
sees the same file, as in the course's simulator. On AWS each environment's ``/tmp`` is its own;
the real target is an Amazon OpenSearch Service domain or Serverless collection (commented in
``template.yaml``), written with the same upsert rule.

The projection keeps history: Time to Live deletions are left out by the event source mapping's
filter (the template's FilterCriteria), so an order purged from the table stays searchable; a
user's delete removes its document. Each document keeps the sequence number of the record that
wrote it and a write only lands if it comes later, so a duplicate or late record changes
nothing. Failed records are reported as in the summary projection (the first failure, the rest
retried after it).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from typing import Any

import orders

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    order_id TEXT PRIMARY KEY, applied_sequence TEXT NOT NULL, deleted INTEGER NOT NULL,
    customer_id TEXT, status TEXT, total_cents INTEGER, created_at TEXT, text TEXT);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_text USING fts5(
    text, content='documents', content_rowid='rowid');
CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_text(rowid, text) VALUES (new.rowid, new.text); END;
CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE ON documents BEGIN
    INSERT INTO documents_text(documents_text, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO documents_text(rowid, text) VALUES (new.rowid, new.text); END;
"""
_UPSERT = """
INSERT INTO documents VALUES (:order_id, :applied_sequence, :deleted, :customer_id, :status,
                              :total_cents, :created_at, :text)
ON CONFLICT(order_id) DO UPDATE SET applied_sequence = excluded.applied_sequence,
    deleted = excluded.deleted, customer_id = excluded.customer_id, status = excluded.status,
    total_cents = excluded.total_cents, created_at = excluded.created_at, text = excluded.text
WHERE excluded.applied_sequence > documents.applied_sequence
"""


def connect(path: str) -> sqlite3.Connection:
    """The store, its tables created if they are not there yet."""
    connection = sqlite3.connect(path, isolation_level=None)
    # A stand-in: no fsync per write (durability is the real search service's business).
    connection.execute("PRAGMA synchronous = OFF")
    connection.executescript(_SCHEMA)
    return connection


# A bare name is a file in the temporary directory (/tmp on Lambda); a full path is kept as is.
store = connect(os.path.join(tempfile.gettempdir(), os.environ["SEARCH_STORE"]))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        try:
            document = _document(record)
        except orders.UnreadableOrder:
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        store.execute(_UPSERT, document)
    return {"batchItemFailures": []}


def _document(record: dict[str, Any]) -> dict[str, Any]:
    change = record["dynamodb"]
    deleted = record["eventName"] == "REMOVE"
    order = orders.read_order(change.get("OldImage" if deleted else "NewImage") or {})
    return {"order_id": order.order_id, "applied_sequence": orders.sequence_key(change["SequenceNumber"]),
            "deleted": int(deleted), "customer_id": order.customer_id, "status": order.status,
            "total_cents": order.total_cents, "created_at": order.created_at,
            "text": f"{order.order_id} {order.customer_id} {order.status}"}
