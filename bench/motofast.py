"""A bench-only speed-up for moto's DynamoDB transactions.

moto's `transact_write_items` deep-copies every table it touches before each transaction (to roll back on a
cancelled condition), so a transaction costs O(table size) time and memory: ~45 ms at 1,000 items, and a few
thousand transactions on a growing table use gigabytes. That cost models nothing about DynamoDB and would swamp
every latency this bench measures. Installed here: the table snapshot becomes a snapshot of only the items the
transaction addresses, restored if the transaction raises. Behaviour (all-or-nothing, cancellation reasons,
ALL_OLD on condition failure) is moto's own; only the rollback bookkeeping is cheaper.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

_installed = False


def install() -> None:
    """Idempotent; call before the first transaction."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original: Callable[..., None] = DynamoDBBackend.transact_write_items

    def _no_table_copy(self: Table, memo: dict[int, Any]) -> Table:
        return self  # the rollback below restores the touched items instead

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        try:
            for entry in transact_items:
                _, op = next(iter(entry.items()))
                table = self.get_table(op["TableName"])
                if "Item" in op:
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                current = self.get_item(op["TableName"], key)
                saved.append(
                    (op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None)
                )
        except Exception:
            return original(self, transact_items)
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(saved):
                if attributes is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attributes)
            raise

    Table.__deepcopy__ = _no_table_copy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True
