"""A reporter's standing (DSA Art. 23): unfounded reports, warning and suspension, version-guarded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from consent_guard.errors import VersionConflict
from consent_guard.models import items as it
from consent_guard.models.effects import Outbox
from consent_guard.repository.base import TableAccess, TransactionRejected, _av, _code
from consent_guard.repository.outbox import outbox_put


class StandingRepository(TableAccess):
    def reporter_standing(self, reporter_id: str) -> it.Item | None:
        return self._get(it.standing_key(reporter_id), consistent=True)

    def reporter_standings(self, reporter_ids: Iterable[str]) -> dict[str, it.Item]:
        """The standing items of several reporters in one batch read (absent: no standing recorded)."""
        return {str(i["reporter_id"]): i for i in self._batch_get(it.standing_key(r) for r in reporter_ids)}

    def count_upheld(self, reporter_id: str, case_id: str) -> bool:
        """Count a first-person report a person upheld, once per case (a track record raises what a report may do)."""
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_av(it.standing_key(reporter_id)),
                # the version moves too, so a concurrent Art. 23 count (a version-guarded put) reads this again
                UpdateExpression="SET #t = :type, reporter_id = :r, unfounded = if_not_exists(unfounded, :none),"
                " history = if_not_exists(history, :none), version = if_not_exists(version, :zero) + :one"
                " ADD upheld :one, upheld_cases :case",
                ConditionExpression="attribute_not_exists(upheld_cases) OR NOT contains(upheld_cases, :c)",
                ExpressionAttributeNames={"#t": "type"},
                ExpressionAttributeValues={
                    **_av({":type": "reporter_standing", ":r": reporter_id, ":none": "[]", ":zero": 0, ":one": 1}),
                    ":case": {"SS": [case_id]},
                    ":c": {"S": case_id},
                },
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def save_reporter_standing(
        self, standing: it.Item, expected_version: int | None, outbox: Outbox | None = None, now: datetime | None = None
    ) -> None:
        """Version-guarded write of a reporter's standing (unfounded reports, warning, suspension); a notice it
        owes (`outbox`) is stored in the same transaction."""
        condition = "attribute_not_exists(PK)" if expected_version is None else "version = :v"
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _av({**standing, **it.standing_key(str(standing["reporter_id"]))}),
            "ConditionExpression": condition,
        }
        if expected_version is not None:
            kwargs["ExpressionAttributeValues"] = _av({":v": expected_version})
        if outbox is not None and outbox.effects and now is not None:
            try:
                self._transact([{"Put": kwargs}, outbox_put(self.table_name, outbox, now)])
            except TransactionRejected as rejected:
                if rejected.codes[0] == "ConditionalCheckFailed":
                    raise VersionConflict("the reporter's standing changed concurrently") from None
                raise
            return
        try:
            self._call("put_item", **kwargs)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict("the reporter's standing changed concurrently") from None
            raise
