"""Strikes on an account, and a strike's expiry (a case change in one transaction)."""

from __future__ import annotations

from typing import Any

from consent_guard.models import items as it
from consent_guard.models.domain import Strike
from consent_guard.repository.base import TableAccess, TransactionRejected, _av, _py, _raise_if_case_changed
from consent_guard.repository.cases import CaseChange, events_put, texts_action
from consent_guard.repository.outbox import outbox_put


class StrikesRepository(TableAccess):
    def strikes_of(self, account_id: str) -> list[Strike]:
        response = self._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :strike)",
            ExpressionAttributeValues=_av({":pk": f"ACCOUNT#{account_id}", ":strike": "STRIKE#"}),
            ConsistentRead=True,
        )
        return [it.strike_from_item(_py(i)) for i in response.get("Items", [])]

    def strike_record(self, account_id: str, case_id: str) -> it.Item | None:
        """The strike item as stored (with its timer and expiry bookkeeping)."""
        return self._get(it.strike_key(account_id, case_id), consistent=True)

    def expire_strike(self, change: CaseChange, account_id: str, expected_dsk: str, seq: int) -> bool:
        """A strike's expiry in one transaction: the case's new version with its event and its outbox (the
        expiry published to the platform), and the strike's expiry timer removed. Raises VersionConflict when the
        case changed; False when the strike's timer is no longer the one read (another run acted)."""
        assert change.expected_version is not None
        case_id = change.case.case_id
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _av(it.case_to_item(change.case)),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": _av({":expected": change.expected_version}),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            *([texts] if (texts := texts_action(self.table_name, change)) is not None else []),
            *(
                [outbox_put(self.table_name, change.outbox, change.case.updated_at)]
                if change.outbox is not None and change.outbox.effects
                else []
            ),
            *([events_put(self.table_name, change.events)] if change.events else []),
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av(it.strike_key(account_id, case_id)),
                    "UpdateExpression": "SET expired_at = :at, lifted_seq = :seq REMOVE DPK, DSK",
                    "ConditionExpression": "DSK = :expected",
                    "ExpressionAttributeValues": _av(
                        {
                            ":at": it.iso(change.case.updated_at),
                            ":seq": seq,
                            ":expected": expected_dsk,
                        }
                    ),
                }
            },
        ]
        try:
            self._transact(actions)
        except TransactionRejected as rejected:
            _raise_if_case_changed(rejected)
            if rejected.codes[-1] == "ConditionalCheckFailed":
                return False
            raise
        return True
