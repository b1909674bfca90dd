"""Durable local state: a journal of every change to moto's DynamoDB and SQS, replayed when the stack starts.

What is kept (in `.local/state/` by default; `make run RESET=1` starts clean):
- DynamoDB: every mutating request that moto answered 200 (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
  TransactWriteItems), verbatim, appended before the response leaves moto. A cancelled transaction or a failed
  condition changed nothing and is not journaled. Replaying the requests in order rebuilds the same items, because
  every value the functions write (timestamps included) is in the request.
- SQS: every message that enters a queue (send, batch send, EventBridge delivery, the move to a DLQ) and every
  deletion, recorded inside moto's queue model with the message's own id, so a message keeps its id across restarts
  and a deletion made after a restart still finds it. Messages that were in flight when the stack stopped are
  visible again after the restart, as they would be when their visibility timeout ran out; receive counts of
  messages restored from the journal start again from what they were when sent.
- The local clock's offset (`POST /local/clock`).

The journal is appended with one `write(2)` per change, before the caller is answered: it survives the process being
killed (SIGKILL) at any point, not the machine losing power (no fsync per request; `--fsync` adds it). When a
journal grows past `COMPACT_AFTER` entries, the next start writes a snapshot of the tables and queues and begins a
new journal (snapshot and journal carry a generation number, so a crash between the two can't apply a journal
twice). What is not kept: SES's record of sent emails, S3 objects, and the resources themselves (created from
template.yaml at every start).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from local import moto_adapt

log = logging.getLogger("local_stack.state")

DDB_TARGET_PREFIX = "DynamoDB_20120810."
DDB_MUTATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
COMPACT_AFTER = 50_000
SNAPSHOT = "snapshot.pickle"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class RestoreSummary:
    generation: int = 0
    snapshot_items: int = 0
    snapshot_messages: int = 0
    journal_entries: int = 0
    seconds: float = 0.0
    clock_offset_s: float = 0.0
    compacted: bool = False
    errors: list[str] = field(default_factory=list)


class StateStore:
    """The journal of one state folder. `restore()` once, before serving; then every change is appended."""

    def __init__(self, directory: Path, fsync: bool = False) -> None:
        self.directory = directory
        self.fsync = fsync
        self._fd: int | None = None
        self._lock = threading.Lock()
        self.generation = 0
        self.entries = 0
        self.clock_offset_s = 0.0
        self.replaying = False

    # ------------------------------------------------------------------ files
    def _journal_path(self, generation: int) -> Path:
        return self.directory / f"journal-{generation}.jsonl"

    def _snapshot_generation(self) -> int:
        path = self.directory / SNAPSHOT
        if not path.exists():
            return 0
        with path.open("rb") as f:
            header = pickle.load(f)  # noqa: S301 - see the import
        return int(header["generation"])

    # ------------------------------------------------------------------ writing
    def append(self, entry: dict[str, Any]) -> None:
        if self.replaying or self._fd is None:
            return
        line = json.dumps(entry, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            os.write(self._fd, line)
            if self.fsync:
                os.fsync(self._fd)
            self.entries += 1

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    # ------------------------------------------------------------------ restoring
    def restore(self, app: WSGIApp, region: str) -> RestoreSummary:
        """Load the snapshot, replay its journal into moto (through `app`), compact if long; then open the journal."""
        started = time.perf_counter()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        summary = RestoreSummary()
        snapshot = self.directory / SNAPSHOT
        if snapshot.exists():
            with snapshot.open("rb") as f:
                header = pickle.load(f)  # noqa: S301
                state = pickle.load(f)  # noqa: S301
            self.generation = int(header["generation"])
            self.clock_offset_s = float(state.get("clock_offset_s", 0.0))
            summary.snapshot_items, summary.snapshot_messages = _load_moto_state(state, region)
        for stale in self.directory.glob("journal-*.jsonl"):  # journals a snapshot already holds
            if stale != self._journal_path(self.generation):
                stale.unlink()
        journal = self._journal_path(self.generation)
        if journal.exists():
            self.replaying = True
            try:
                summary.journal_entries = self._replay(journal, app, region, summary)
            finally:
                self.replaying = False
        self.entries = summary.journal_entries
        if summary.journal_entries > COMPACT_AFTER:
            self._compact(region)
            summary.compacted = True
        summary.generation = self.generation
        summary.clock_offset_s = self.clock_offset_s
        self._fd = os.open(self._journal_path(self.generation), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        summary.seconds = time.perf_counter() - started
        return summary

    def _replay(self, journal: Path, app: WSGIApp, region: str, summary: RestoreSummary) -> int:
        count = 0
        with journal.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # the last line of a process killed mid-write: never acknowledged, so never relied on
                entry = json.loads(raw)
                kind = entry["k"]
                if kind == "ddb":
                    status = _call_moto(app, entry["op"], entry["b"], region)
                    if status != 200:
                        summary.errors.append(f"{entry['op']} answered {status} on replay")
                elif kind == "sqs+":
                    _sqs_restore_message(region, entry["q"], pickle.loads(base64.b64decode(entry["m"])))  # noqa: S301
                elif kind == "sqs-":
                    _sqs_forget_message(region, entry["q"], entry["id"])
                elif kind == "clock":
                    self.clock_offset_s = float(entry["offset_s"])
                count += 1
        return count

    def _compact(self, region: str) -> None:
        """Snapshot generation g+1 (tables + queues + clock), then drop journal g."""
        state = _dump_moto_state(region)
        state["clock_offset_s"] = self.clock_offset_s
        tmp = self.directory / (SNAPSHOT + ".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"generation": self.generation + 1}, f)
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.directory / SNAPSHOT)
        old = self._journal_path(self.generation)
        self.generation += 1
        old.unlink(missing_ok=True)
        self.entries = 0


# ---------------------------------------------------------------------------------------------- moto hooks


class JournalingApp:
    """WSGI middleware in front of moto: journal each DynamoDB write moto accepted, before answering it."""

    def __init__(self, app: WSGIApp, store: StateStore) -> None:
        self.app = app
        self.store = store

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target[len(DDB_TARGET_PREFIX) :] if target.startswith(DDB_TARGET_PREFIX) else ""
        if operation not in DDB_MUTATIONS:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = BytesIO(body)
        status: list[str] = []

        def capture(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(status_line)
            return start_response(status_line, headers, exc_info)

        chunks = list(self.app(environ, capture))
        if status and status[0].startswith("200"):
            self.store.append({"k": "ddb", "op": operation, "b": body.decode()})
        return chunks


_installed_store: StateStore | None = None


def install_sqs_hooks(store: StateStore) -> None:
    """Record every message entering a queue and every deletion, inside moto's queue model (any caller: SendMessage,
    EventBridge targets, the move to a DLQ during ReceiveMessage)."""
    global _installed_store
    from moto.sqs.models import Queue

    if _installed_store is None:
        original_add = Queue.add_message
        original_delete = Queue.delete_message

        def add_message(self: Any, message: Any) -> None:
            before = len(self._messages)
            original_add(self, message)
            if _installed_store is not None and len(self._messages) > before:  # FIFO dedupe may drop it
                fresh = _fresh_copy(message)
                _installed_store.append(
                    {"k": "sqs+", "q": self.name, "m": base64.b64encode(pickle.dumps(fresh)).decode()}
                )

        def delete_message(self: Any, receipt_handle: str) -> None:
            ids = [m.id for m in self._messages if m.had_receipt_handle(receipt_handle)]
            original_delete(self, receipt_handle)
            if _installed_store is not None:
                for message_id in ids:
                    _installed_store.append({"k": "sqs-", "q": self.name, "id": message_id})

        Queue.add_message = add_message  # type: ignore[method-assign]
        Queue.delete_message = delete_message  # type: ignore[method-assign]
    _installed_store = store


def _fresh_copy(message: Any) -> Any:
    """The message as a restart should see it: visible, not received by anyone since it was recorded."""
    fresh = pickle.loads(pickle.dumps(message))  # noqa: S301 - a copy of an object of our own process
    fresh.receipt_handle = None
    fresh._old_receipt_handles = []
    fresh.visible_at = 0.0
    return fresh


def _sqs_backend(region: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    return sqs_backends[DEFAULT_ACCOUNT_ID][region]


def _sqs_restore_message(region: str, queue_name: str, message: Any) -> None:
    backend = _sqs_backend(region)
    for queue in backend.queues.values():  # a move to the DLQ: the message leaves its source queue
        queue._messages = [m for m in queue._messages if m.id != message.id]
    queue = backend.queues.get(queue_name)
    if queue is not None:
        queue._messages.append(message)


def _sqs_forget_message(region: str, queue_name: str, message_id: str) -> None:
    queue = _sqs_backend(region).queues.get(queue_name)
    if queue is not None:
        queue._messages = [m for m in queue._messages if m.id != message_id]


def _call_moto(app: WSGIApp, operation: str, body: str, region: str) -> int:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        method="POST",
        path="/",
        base_url=f"http://dynamodb.{region}.amazonaws.com",
        headers={
            "X-Amz-Target": DDB_TARGET_PREFIX + operation,
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
        data=body.encode(),
    )
    status: list[str] = []
    for _ in app(builder.get_environ(), lambda s, h, e=None: status.append(s)):
        pass
    return int(status[0].split()[0]) if status else 0


def _dump_moto_state(region: str) -> dict[str, Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    tables = {name: table.items for name, table in dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables.items()}
    queues = {name: [_fresh_copy(m) for m in q._messages] for name, q in _sqs_backend(region).queues.items()}
    return {"tables": tables, "queues": queues}


def _load_moto_state(state: dict[str, Any], region: str) -> tuple[int, int]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    items = messages = 0
    tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables
    for name, table_items in state["tables"].items():
        if name in tables:
            tables[name].items = table_items
            moto_adapt.reindex(tables[name])
            items += sum(len(v) if isinstance(v, dict) else 1 for v in table_items.values())
    queues = _sqs_backend(region).queues
    for name, queue_messages in state["queues"].items():
        if name in queues:
            queues[name]._messages = list(queue_messages)
            messages += len(queue_messages)
    return items, messages
